package dev.jformers.benchmarks;

import dev.jformers.core.Activation;
import dev.jformers.core.Tensor;
import dev.jformers.cpu.SimdBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The memory-bound ops of a BERT-base layer over 128 tokens: layer norm of [128, 768], GELU of the
 * intermediate [128, 3072], softmax of the attention scores [12, 128, 128]. Calls per second;
 * {@link KernelReport} turns them into GB/s (one read and one write of the tensor per call).
 * The {@code zeros*} benchmarks time only the allocation of an output of the same size (what every op
 * pays for its result), so the report can show how much of each call is the kernel.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", ForkFlags.HUGE_PAGES})
public class RowOpsBenchmark {

    @Param({"1", "2"})
    public int threads;

    private SimdBackend backend;
    private Tensor hidden;
    private Tensor gamma;
    private Tensor beta;
    private Tensor intermediate;
    private Tensor scores;

    @Setup(Level.Trial)
    public void setUp() {
        backend = new SimdBackend(threads, 0);
        Random rnd = new Random(7);
        hidden = GemmBenchmark.random(rnd, 128, 768);
        gamma = GemmBenchmark.random(rnd, 768);
        beta = GemmBenchmark.random(rnd, 768);
        intermediate = GemmBenchmark.random(rnd, 128, 3072);
        scores = GemmBenchmark.random(rnd, 12, 128, 128);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
    }

    @Benchmark
    public Tensor layerNorm128x768() {
        return backend.layerNorm(hidden, gamma, beta, 1e-12f);
    }

    @Benchmark
    public Tensor gelu128x3072() {
        return backend.activation(intermediate, Activation.GELU);
    }

    @Benchmark
    public Tensor softmax12x128x128() {
        return backend.softmax(scores);
    }

    @Benchmark
    public Tensor zeros128x768() {
        return backend.zeros(128, 768);
    }

    @Benchmark
    public Tensor zeros128x3072() {
        return backend.zeros(128, 3072);
    }

    @Benchmark
    public Tensor zeros12x128x128() {
        return backend.zeros(12, 128, 128);
    }
}
