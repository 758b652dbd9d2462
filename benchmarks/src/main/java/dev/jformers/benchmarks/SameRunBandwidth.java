package dev.jformers.benchmarks;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;

import java.util.Arrays;
import java.util.concurrent.CountDownLatch;

/**
 * The read bandwidth on the benchmark's own thread count (its {@code threads} parameter), measured in the same
 * fork right before and right after every iteration, so a memory-bound case (decoding, a GEMV) is set against the bandwidth of
 * the same minute. On this VM the 2-core read bandwidth swings between about 36 and 66 GB/s from minute to
 * minute, so a {@link PeakBenchmark#read2} run minutes earlier made a 2-thread "% of read bandwidth" a guess.
 *
 * <p>Each of {@code threads} plain threads sums its own {@link PeakBenchmark#READ_FLOATS} floats
 * ({@link PeakBenchmark#read}, the loop of read1 / read2) {@value #PASSES} times, all started together (about
 * 0.2 s on a quiet machine), before and after each iteration. JMH reports the two public fields as secondary
 * results of the benchmark that takes this state (an aux-counter class's public methods would be counters too,
 * so the conversion lives in {@link PeakBenchmark#sameRunGigabytesPerSecond}: their ratio, whichever way JMH
 * adds up the iterations).
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.EVENTS)
public class SameRunBandwidth {
    static final int PASSES = 24;

    /** Bytes read by all threads in this iteration's measurement. */
    public long readBytes;
    /** Wall time of that measurement, ns. */
    public long readNanos;

    private float[][] arrays;
    private long bytesBefore;
    private long nanosBefore;

    /** Before the iteration (JMH zeroes the counters after this, so the figures wait in private fields). */
    @Setup(Level.Iteration)
    public void before(BenchmarkParams params) throws InterruptedException {
        measure(params);
        bytesBefore = readBytes;
        nanosBefore = readNanos;
    }

    /** After it: the counters hold both measurements, so the bandwidth brackets the iteration. */
    @TearDown(Level.Iteration)
    public void after(BenchmarkParams params) throws InterruptedException {
        measure(params);
        readBytes += bytesBefore;
        readNanos += nanosBefore;
    }

    private void measure(BenchmarkParams params) throws InterruptedException {
        int threads = params.getParamsKeys().contains("threads") ? Integer.parseInt(params.getParam("threads")) : 1;
        if (arrays == null) {
            arrays = new float[threads][PeakBenchmark.READ_FLOATS];
            for (float[] a : arrays) {
                Arrays.fill(a, 1f);
            }
        }
        CountDownLatch go = new CountDownLatch(1);
        Thread[] readers = new Thread[threads];
        float[] sums = new float[threads];   // written after the loop, so the JIT cannot drop the reads
        long[] ends = new long[threads];
        for (int t = 0; t < threads; t++) {
            int id = t;
            readers[t] = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                float s = 0;
                for (int pass = 0; pass < PASSES; pass++) {
                    s += PeakBenchmark.read(arrays[id]);
                }
                sums[id] = s;
                ends[id] = System.nanoTime();
            });
            readers[t].start();
        }
        long start = System.nanoTime();
        go.countDown();
        long last = start;
        for (Thread r : readers) {
            r.join();
        }
        for (long e : ends) {
            last = Math.max(last, e);
        }
        readBytes = (long) threads * PASSES * PeakBenchmark.READ_FLOATS * 4;
        readNanos = last - start;
    }
}
