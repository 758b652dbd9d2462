package dev.jformers.cpu;

import dev.jformers.benchmarks.Machine;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The parts of {@link SimdBackend#linearBackward} at a training step's shapes, each timed alone in CPU time of the
 * calling thread (the one honest figure on a loaded machine; 1 thread): the forward GEMM for reference, dx = dy·W
 * (packing W, then the GEMM), dW += dyᵀ·x (packing x, then the GEMM with dy as the transposed A, each block packed
 * into strips as {@link SimdBackend#copyTransposedA} says: of 6 rows, and for comparison of 4 as before) and the bias
 * gradient (column sums of dy); the forward with 6-row tiles (the default) and with 4-row ones. Parts run interleaved, round after round; the minimum of the rounds is
 * printed. (In package dev.jformers.cpu to reach the package-private GEMM.)
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -cp benchmarks.jar dev.jformers.cpu.BackwardGemmParts
 * [rows] [rounds] [in>out ...]}; default 4096 rows (MiniLM b32×s128), 7 rounds, MiniLM's four linear shapes.
 */
public final class BackwardGemmParts {
    private BackwardGemmParts() {
    }

    private static final ThreadMXBean BEAN = ManagementFactory.getThreadMXBean();

    public static void main(String[] args) {
        System.out.println(Machine.describe());
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 4096;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        String[] shapes = args.length > 2 ? Arrays.copyOfRange(args, 2, args.length)
                : new String[] {"384>1152", "384>384", "384>1536", "1536>384"};
        SimdBackend backend = new SimdBackend(1, 0);
        int nr = Kernels.forBits(backend.vectorBits()).panelWidth();
        WorkerPool pool = new WorkerPool(1);
        SplittableRandom rnd = new SplittableRandom(7);
        System.out.printf(Locale.ROOT, "rows %d, %d rounds, CPU ms (min) and GFLOP/s of one thread%n", n, rounds);
        System.out.println("| in → out | forward | forward, 4-row tiles | dx (pack W + GEMM) | pack x | dW (GEMM) | dW, 4-row strips | db "
                + "| linearBackward (all of it) |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (String shape : shapes) {
            int in = Integer.parseInt(shape.substring(0, shape.indexOf('>')));
            int out = Integer.parseInt(shape.substring(shape.indexOf('>') + 1));
            float[] x = random(rnd, n * in), dy = random(rnd, n * out), w = random(rnd, out * in);
            float[] y = new float[n * out], dx = new float[n * in];
            float[] dW = new float[out * in];
            PackedLinear forward = PackedLinear.packInto(w, 0, in, out, WeightLayout.OUT_IN, nr, pool,
                    new float[(int) PackedLinear.floats(in, out, nr)]);
            float[] wPanels = new float[(int) PackedLinear.floats(out, in, nr)];
            float[] xPanels = new float[(int) PackedLinear.floats(n, in, nr)];
            Tensor xt = Tensor.of(x, n, in), dyt = Tensor.of(dy, n, out), wt = Tensor.of(w, out, in);
            Tensor dWt = Tensor.of(new float[out * in], out, in), dBt = Tensor.of(new float[out], out);
            long[] best = new long[8];
            Arrays.fill(best, Long.MAX_VALUE);
            for (int round = 0; round < rounds + 2; round++) {   // 2 rounds of warm-up
                long[] t = new long[8];
                long c = cpu();
                backend.gemm(x, 0, n, forward, y, 0);
                t[0] = cpu() - c;
                c = cpu();
                PackedLinear wAsB = PackedLinear.packInto(w, 0, out, in, WeightLayout.IN_OUT, nr, pool, wPanels);
                backend.gemm(dy, 0, n, wAsB, dx, 0);
                t[1] = cpu() - c;
                c = cpu();
                PackedLinear xAsB = PackedLinear.packInto(x, 0, n, in, WeightLayout.IN_OUT, nr, pool, xPanels);
                t[2] = cpu() - c;
                Arrays.fill(dW, 0f);
                c = cpu();
                backend.gemm(dy, 0, out, xAsB, dW, 0, true, true, null);
                t[3] = cpu() - c;
                backend.sixRowStrips = false;
                Arrays.fill(dW, 0f);
                c = cpu();
                backend.gemm(dy, 0, out, xAsB, dW, 0, true, true, null);
                t[5] = cpu() - c;
                backend.sixRowStrips = true;
                int sixRowLimit = backend.sixRowTileMaxRows;
                backend.sixRowTileMaxRows = 0;
                c = cpu();
                backend.gemm(x, 0, n, forward, y, 0);
                t[7] = cpu() - c;
                backend.sixRowTileMaxRows = sixRowLimit;
                c = cpu();   // the whole call: dx, dW and db as a training step runs them (dy warm from dx's pass)
                backend.recycle(backend.linearBackward(dyt, xt, wt, WeightLayout.OUT_IN, dWt, dBt, true));
                t[6] = cpu() - c;
                c = cpu();
                backend.columnSums(dy, 0, n, out);
                t[4] = cpu() - c;
                for (int i = 0; round >= 2 && i < t.length; i++) {
                    best[i] = Math.min(best[i], t[i]);
                }
            }
            double flop = 2.0 * n * in * out;
            System.out.printf(Locale.ROOT, "| %d → %d | %s | %s | %s | %.2f | %s | %s | %.2f | %s |%n", in, out,
                    gemm(best[0], flop), gemm(best[7], flop), gemm(best[1], flop), best[2] / 1e6, gemm(best[3], flop), gemm(best[5], flop),
                    best[4] / 1e6, gemm(best[6], 2 * flop));
        }
        backend.close();
    }

    private static String gemm(long nanos, double flop) {
        return String.format(Locale.ROOT, "%.2f (%.0f)", nanos / 1e6, flop / nanos);
    }

    /** CPU time of the calling thread, ns (also AttentionParts'). */
    static long cpu() {
        return BEAN.getCurrentThreadCpuTime();
    }

    /** n floats uniform in [-1, 1) (also AttentionParts'). */
    static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }
}
