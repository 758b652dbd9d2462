package dev.jformers.cpu;

import dev.jformers.core.Activation;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import dev.jformers.benchmarks.ForkFlags;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The inner loops of {@link SimdBackend}'s row-wise ops on one thread, without the backend around them:
 * no output tensor to allocate, rows copied between heap arrays. Compare with RowOpsBenchmark, whose
 * calls also pay for {@code Tensor.zeros} (fresh native memory, returned only when the GC runs).
 * (In package dev.jformers.cpu to reach the package-private {@link Kernels}.)
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", ForkFlags.HUGE_PAGES})
public class KernelLoopBenchmark {
    private Kernels kernels;
    private float[] hidden;
    private float[] intermediate;
    private float[] scores;
    private float[] gamma;
    private float[] beta;
    private float[] out;

    @Setup(Level.Trial)
    public void setUp() {
        kernels = Kernels.forBits(SimdBackend.defaultBits());
        Random rnd = new Random(3);
        hidden = random(rnd, 128 * 768);
        intermediate = random(rnd, 128 * 3072);
        scores = random(rnd, 12 * 128 * 128);
        gamma = random(rnd, 768);
        beta = random(rnd, 768);
        out = new float[128 * 3072];
    }

    private static float[] random(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = rnd.nextFloat() * 4 - 2;
        }
        return v;
    }

    @Benchmark
    public float[] layerNorm128x768() {
        System.arraycopy(hidden, 0, out, 0, hidden.length);
        for (int r = 0; r < 128; r++) {
            kernels.layerNorm(out, r * 768, 768, gamma, beta, 1e-12f);
        }
        return out;
    }

    @Benchmark
    public float[] gelu128x3072() {
        System.arraycopy(intermediate, 0, out, 0, intermediate.length);
        kernels.activation(out, 0, out.length, Activation.GELU);
        return out;
    }

    @Benchmark
    public float[] softmax12x128x128() {
        System.arraycopy(scores, 0, out, 0, scores.length);
        for (int r = 0; r < 12 * 128; r++) {
            kernels.softmax(out, r * 128, 128);
        }
        return out;
    }
}
