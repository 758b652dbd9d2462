package dev.jformers.cpu;

import dev.jformers.core.DType;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import dev.jformers.benchmarks.ForkFlags;
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
 * {@link SimdBackend}'s GEMM into an output allocated once, at the compute-bound shapes of
 * GemmBenchmark: what {@code linear} costs without allocating its result. The difference from
 * GemmBenchmark is the price of {@code Tensor.zeros} for the output (paid on the calling thread).
 * (In package dev.jformers.cpu to reach the package-private {@code gemm}.)
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", ForkFlags.HUGE_PAGES})
public class GemmKernelBenchmark {

    /** M x K x N. */
    @Param({"1024x1024x1024", "128x768x768", "128x768x3072"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    /**
     * How many copies of the weight the calls cycle through: 1 keeps it in the caches; enough copies to pass the
     * L3 (e.g. 24 of 128×384×1152) make every call stream its weight from memory, as a model's layers do.
     */
    @Param({"1"})
    public int weightCopies;

    private SimdBackend backend;
    private PackedLinear[] weights;
    private int nextWeight;
    private Tensor x;
    private Tensor y;
    private int m;

    @Setup(Level.Trial)
    public void setUp() {
        String[] mkn = shape.split("x");
        m = Integer.parseInt(mkn[0]);
        int k = Integer.parseInt(mkn[1]), n = Integer.parseInt(mkn[2]);
        backend = new SimdBackend(threads, 0);
        Random rnd = new Random(42);
        weights = new PackedLinear[weightCopies];
        for (int i = 0; i < weightCopies; i++) {
            weights[i] = (PackedLinear) backend.prepareLinear(random(rnd, n, k), random(rnd, n), WeightLayout.OUT_IN);
        }
        x = random(rnd, m, k);
        y = Tensor.zeros(DType.F32, m, n);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
    }

    @Benchmark
    public Tensor gemmIntoPreallocatedOutput() {
        PackedLinear weight = weights[nextWeight];
        nextWeight = nextWeight + 1 == weights.length ? 0 : nextWeight + 1;
        backend.gemm(x.floatArray(), (int) x.arrayOffset(), m, weight, y.floatArray(), (int) y.arrayOffset());
        return y;
    }

    private static Tensor random(Random rnd, int... shape) {
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
