package dev.jformers.cpu;

import dev.jformers.core.Activation;
import dev.jformers.core.LinearWeight;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;

import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.Random;

/**
 * The element-wise activations' inner loops ({@link Kernels#activation}, {@link Kernels#activationBackward}) on one
 * thread, in CPU time of the calling thread (the honest figure on a loaded machine): ns per element over
 * MiniLM's FFN activation, 128 × 1536 floats (768 KB, in L2), inputs N(0, 2²). The forward's figure includes
 * restoring its input (an array copy, ~0.05 ns an element, printed as "copy"); the backward writes dx from dy
 * and x and needs none. Each case runs {@code rounds} rounds of {@code calls} calls; the minimum and the range
 * of the rounds after the first third (warm-up) are printed, and the bytes allocated per call (0 when C2 kept
 * every vector in registers).
 * (In package dev.jformers.cpu to reach the kernels.)
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -cp benchmarks.jar dev.jformers.cpu.ActivationCpuTime
 * [case,case,…] [rounds] [calls]} with cases among gelu, geluBackward, geluTanh, geluTanhBackward, silu, copy,
 * linearGelu (default: gelu,geluBackward,geluTanh,copy); {@code -Djformers.simd.bits=256} for another width. One case
 * per process gives each loop its own JIT profile, as in a model: run one at a time to compare. linearGelu times
 * MiniLM's FFN-in on a 1-thread SimdBackend, 128 × 384 → 1536, with GELU in its epilogue and without, interleaved
 * (ms a call, the minima), and prints GELU's share per element.
 */
public final class ActivationCpuTime {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** The last output, kept so that no call is dead code. */
    static Tensor sink;

    private ActivationCpuTime() {
    }

    public static void main(String[] args) {
        String[] cases = (args.length > 0 ? args[0] : "gelu,geluBackward,geluTanh,copy").split(",");
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 12;
        int calls = args.length > 2 ? Integer.parseInt(args[2]) : 300;
        Kernels kernels = Kernels.forBits(SimdBackend.defaultBits());
        int n = 128 * 1536;
        Random rnd = new Random(3);
        float[] x = new float[n], y = new float[n], dy = new float[n], dx = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian() * 2;
            dy[i] = rnd.nextFloat();
        }
        System.out.printf(Locale.ROOT, "%d-bit vectors (%d lanes), %d elements, %d rounds of %d calls, CPU time%n",
                kernels.bits(), kernels.lanes(), n, rounds, calls);
        for (String c : cases) {
            if (c.equals("linearGelu")) {
                linearGelu(rounds, calls / 3 + 1, rnd);
                continue;
            }
            Runnable call = switch (c) {
                case "gelu" -> () -> forward(kernels, x, y, Activation.GELU);
                case "geluTanh" -> () -> forward(kernels, x, y, Activation.GELU_TANH);
                case "silu" -> () -> forward(kernels, x, y, Activation.SILU);
                case "copy" -> () -> System.arraycopy(x, 0, y, 0, n);
                case "geluBackward" -> () -> kernels.activationBackward(dy, 0, x, 0, dx, 0, n, Activation.GELU);
                case "geluTanhBackward" -> () -> kernels.activationBackward(dy, 0, x, 0, dx, 0, n, Activation.GELU_TANH);
                default -> throw new IllegalArgumentException("unknown case " + c);
            };
            double min = Double.MAX_VALUE, max = 0;
            long bytes = 0;
            for (int r = 0; r < rounds; r++) {
                long a0 = THREADS.getCurrentThreadAllocatedBytes(), t0 = THREADS.getCurrentThreadCpuTime();
                for (int i = 0; i < calls; i++) {
                    call.run();
                }
                long t1 = THREADS.getCurrentThreadCpuTime(), a1 = THREADS.getCurrentThreadAllocatedBytes();
                if (r >= rounds / 3) {
                    double ns = (t1 - t0) / (double) calls / n;
                    min = Math.min(min, ns);
                    max = Math.max(max, ns);
                    bytes = (a1 - a0) / calls;
                }
            }
            System.out.printf(Locale.ROOT, "%-17s %.3f ns/element (range %.3f–%.3f), %d bytes allocated per call%n",
                    c, min, min, max, bytes);
        }
    }

    private static void linearGelu(int rounds, int calls, Random rnd) {
        int m = 128, k = 384, n = 1536;
        float[] x = new float[m * k], w = new float[n * k];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.1f;
        }
        try (SimdBackend backend = new SimdBackend(1, 0)) {
            LinearWeight weight = backend.prepareLinear(Tensor.of(w, n, k), Tensor.of(new float[n], n), WeightLayout.OUT_IN);
            Tensor input = Tensor.of(x, m, k);
            double[] best = {Double.MAX_VALUE, Double.MAX_VALUE};
            for (int r = 0; r < rounds; r++) {
                for (int v = 0; v < 2; v++) {
                    long t0 = THREADS.getCurrentThreadCpuTime();
                    for (int i = 0; i < calls; i++) {
                        sink = v == 0 ? backend.linear(input, weight) : backend.linear(input, weight, Activation.GELU);
                    }
                    double ms = (THREADS.getCurrentThreadCpuTime() - t0) / 1e6 / calls;
                    if (r >= rounds / 3) {
                        best[v] = Math.min(best[v], ms);
                    }
                }
            }
            System.out.printf(Locale.ROOT, "linear 128×384→1536 %.3f ms, with GELU %.3f ms: GELU %.3f ms, %.3f ns/element%n",
                    best[0], best[1], best[1] - best[0], (best[1] - best[0]) * 1e6 / (m * n));
        }
    }

    private static void forward(Kernels kernels, float[] x, float[] y, Activation activation) {
        System.arraycopy(x, 0, y, 0, x.length);
        kernels.activation(y, 0, y.length, activation);
    }
}
