package dev.jformers.benchmarks;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;

import java.util.concurrent.TimeUnit;

/**
 * The machine's bounds, measured in the same run as the kernels so the ratios hold while the machine
 * is shared: the FP32 FMA peak (12 independent FMA chains on registers, no memory) and the read
 * bandwidth (a vector sum over 128 MiB per thread, far beyond the caches), on 1 and 2 threads.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", ForkFlags.HUGE_PAGES})
public class PeakBenchmark {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** FMA steps per call of {@link #fma}: each step is 12 vector FMAs. */
    public static final int FMA_STEPS = 1 << 16;

    /** Floats each thread streams per call of {@link #read}: 128 MiB. */
    public static final int READ_FLOATS = 32 << 20;

    /** FLOPs per call of {@link #fma}. */
    public static long fmaFlops() {
        return 12L * 2 * S.length() * FMA_STEPS;
    }

    private float[] big;
    private float seed;

    @Setup(Level.Trial)
    public void setUp() {
        big = new float[READ_FLOATS];
        java.util.Arrays.fill(big, 1f);
        seed = 1e-7f;
    }

    @Benchmark
    @Threads(1)
    public float fma1() {
        return fma(seed);
    }

    @Benchmark
    @Threads(2)
    public float fma2() {
        return fma(seed);
    }

    @Benchmark
    @Threads(1)
    public float read1() {
        return read(big);
    }

    @Benchmark
    @Threads(2)
    public float read2() {
        return read(big);
    }

    private static float fma(float b) {
        FloatVector a = FloatVector.broadcast(S, 0.999f), c = FloatVector.broadcast(S, b);
        FloatVector v0 = FloatVector.broadcast(S, 1f), v1 = v0.add(1), v2 = v0.add(2), v3 = v0.add(3), v4 = v0.add(4), v5 = v0.add(5);
        FloatVector v6 = v0.add(6), v7 = v0.add(7), v8 = v0.add(8), v9 = v0.add(9), v10 = v0.add(10), v11 = v0.add(11);
        for (int i = 0; i < FMA_STEPS; i++) {
            v0 = v0.fma(a, c); v1 = v1.fma(a, c); v2 = v2.fma(a, c); v3 = v3.fma(a, c); v4 = v4.fma(a, c); v5 = v5.fma(a, c);
            v6 = v6.fma(a, c); v7 = v7.fma(a, c); v8 = v8.fma(a, c); v9 = v9.fma(a, c); v10 = v10.fma(a, c); v11 = v11.fma(a, c);
        }
        return v0.add(v1).add(v2).add(v3).add(v4).add(v5).add(v6).add(v7).add(v8).add(v9).add(v10).add(v11)
                .reduceLanes(VectorOperators.ADD);
    }

    /**
     * GB/s of the secondary results {@code readBytes} / {@code readNanos} that {@link SameRunBandwidth} adds to the
     * benchmark r, or NaN when r has none.
     */
    public static double sameRunGigabytesPerSecond(RunResult r) {
        Result<?> bytes = r.getSecondaryResults().get("readBytes"), nanos = r.getSecondaryResults().get("readNanos");
        return bytes == null || nanos == null || nanos.getScore() <= 0 ? Double.NaN : bytes.getScore() / nanos.getScore();
    }

    /** The vector sum of a (the read benchmarks' loop; {@link SameRunBandwidth} runs it too). */
    public static float read(float[] a) {
        int l = S.length();
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        for (int i = 0; i + 4 * l <= a.length; i += 4 * l) {
            s0 = s0.add(FloatVector.fromArray(S, a, i));
            s1 = s1.add(FloatVector.fromArray(S, a, i + l));
            s2 = s2.add(FloatVector.fromArray(S, a, i + 2 * l));
            s3 = s3.add(FloatVector.fromArray(S, a, i + 3 * l));
        }
        return s0.add(s1).add(s2).add(s3).reduceLanes(VectorOperators.ADD);
    }
}
