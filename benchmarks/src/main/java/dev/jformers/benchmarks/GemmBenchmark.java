package dev.jformers.benchmarks;

import dev.jformers.core.LinearWeight;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;
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
 * {@code linear} (y = x·Wᵀ + b, weight packed once) at transformer shapes M×K×N: a square 1024³,
 * BERT-base projections over 128 tokens (768→768, 768→3072), and decoding (M = 1, a memory-bound GEMV)
 * through a 768→768 projection and GPT-2's 768→50257 LM head. Throughput in calls per second:
 * {@link KernelReport} turns it into GFLOP/s (2·M·K·N per call) and GB/s of weight read (4·K·N).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", ForkFlags.HUGE_PAGES})
public class GemmBenchmark {

    /** M x K x N. */
    @Param({"1024x1024x1024", "128x768x768", "128x768x3072", "1x768x768", "1x768x50257"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    /** How the weight is kept: f32, bf16 or int8 ({@code -p weights=bf16,int8}; SimdBackend.WEIGHTS_PROPERTY). */
    @Param({"f32"})
    public String weights;

    private SimdBackend backend;
    private LinearWeight weight;
    private Tensor x;

    @Setup(Level.Trial)
    public void setUp() {
        String[] mkn = shape.split("x");
        int m = Integer.parseInt(mkn[0]), k = Integer.parseInt(mkn[1]), n = Integer.parseInt(mkn[2]);
        System.setProperty(SimdBackend.WEIGHTS_PROPERTY, weights);
        backend = new SimdBackend(threads, 0);
        Random rnd = new Random(42);
        weight = backend.prepareLinear(random(rnd, n, k), random(rnd, n), WeightLayout.OUT_IN);
        x = random(rnd, m, k);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
    }

    /**
     * A fresh output per call (allocated and zeroed by the JVM on the calling thread); {@code bandwidth} measures the
     * read bandwidth on {@link #threads} threads before each iteration, the bound of the M = 1 shapes.
     */
    @Benchmark
    public Tensor linear(SameRunBandwidth bandwidth) {
        return backend.linear(x, weight);
    }

    /**
     * {@code linear} as a model's layers call it: each output is handed back when the layer's {@code Scope} closes,
     * and the next output of that size reuses its array (no allocation, no zeroing; {@code SimdBackend.output}).
     */
    @Benchmark
    public Tensor linearRecycled() {
        Tensor y = backend.linear(x, weight);
        backend.recycle(y);
        return y;
    }

    static Tensor random(Random rnd, int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = rnd.nextFloat() - 0.5f;
        }
        return Tensor.of(v, shape);
    }
}
