package dev.jformers.cpu;

import dev.jformers.core.DType;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;
import java.util.Random;

/**
 * {@link SimdBackend#gemm} on 1 thread at the encoders' shapes, with the bias copied into Y before the tiles
 * ({@code base}) and read by the first K block's tiles ({@code biasInTiles}, #20x), alternated call after call in one process, each against the FMA peak measured in the same rounds; the calling
 * thread's CPU time (so it can run on a loaded machine), the minimum per variant and shape. Weights in cache (one
 * copy) or streamed ({@code -Djformers.bench.copies=N}: N copies cycled, past the L3); {@code gemm} into one
 * preallocated Y, or ({@code -Djformers.bench.linear=true}) {@code linear} with its output recycled, as a forward
 * calls it. Each timed variant is preceded by one untimed call and the variants take turns at going first (without
 * that the first variant after another shape paid its cold caches: 3–6%). Findings: docs/benchmarks.md, fourteenth
 * session (#20x).
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp benchmarks.jar dev.jformers.cpu.GemmTileAB
 * [MxKxN,...] [variant,...] [rounds]}
 */
public final class GemmTileAB {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static volatile float sink;

    private GemmTileAB() {
    }

    public static void main(String[] args) {
        String[] shapes = (args.length > 0 ? args[0]
                : "128x384x1152,128x384x384,128x384x1536,128x1536x384,128x768x768,128x768x3072,128x3072x768").split(",");
        String[] variants = (args.length > 1 ? args[1] : "base,biasInTiles").split(",");
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        int copies = Integer.getInteger("jformers.bench.copies", 1);
        // -Djformers.bench.linear=true: backend.linear(x, w) and its output recycled, as a forward calls it (Y a
        // recycled array, not the one written by the call before)
        boolean linear = Boolean.getBoolean("jformers.bench.linear");
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        try (SimdBackend backend = new SimdBackend(1, 0)) {
            Random rnd = new Random(42);
            PackedLinear[][] w = new PackedLinear[shapes.length][copies];
            float[][] x = new float[shapes.length][], y = new float[shapes.length][];
            Tensor[] xt = new Tensor[shapes.length];
            int[][] mkn = new int[shapes.length][];
            for (int i = 0; i < shapes.length; i++) {
                String[] p = shapes[i].split("x");
                mkn[i] = new int[]{Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])};
                int m = mkn[i][0], k = mkn[i][1], n = mkn[i][2];
                for (int c = 0; c < copies; c++) {
                    w[i][c] = (PackedLinear) backend.prepareLinear(random(rnd, n, k), random(rnd, n), WeightLayout.OUT_IN);
                }
                xt[i] = random(rnd, m, k);
                x[i] = xt[i].floatArray();
                y[i] = new float[m * n];
            }
            long[][] best = new long[shapes.length][variants.length];
            long bestPeak = Long.MAX_VALUE;
            for (long[] b : best) java.util.Arrays.fill(b, Long.MAX_VALUE);
            int reps = Math.max(copies, 4);
            for (int round = 0; round < rounds + 3; round++) {
                long c0 = mx.getCurrentThreadCpuTime();
                sink += fma(1e-7f);
                long pk = mx.getCurrentThreadCpuTime() - c0;
                if (round >= 3) bestPeak = Math.min(bestPeak, pk);
                for (int i = 0; i < shapes.length; i++) {
                    for (int vv = 0; vv < variants.length; vv++) {
                        int v = (vv + round) % variants.length;   // each variant in every position in turn
                        set(backend, variants[v]);
                        backend.gemm(x[i], 0, mkn[i][0], w[i][copies - 1], y[i], 0);   // untimed: the shape's data warm
                        long t0 = mx.getCurrentThreadCpuTime();
                        for (int r = 0; r < reps; r++) {
                            if (linear) {
                                backend.recycle(backend.linear(xt[i], w[i][r % copies]));
                            } else {
                                backend.gemm(x[i], 0, mkn[i][0], w[i][r % copies], y[i], 0);
                            }
                        }
                        long t = (mx.getCurrentThreadCpuTime() - t0) / reps;
                        if (round >= 3) best[i][v] = Math.min(best[i][v], t);
                    }
                }
            }
            double peak = 12.0 * 2 * S.length() * (1 << 16) / bestPeak;
            System.out.printf(Locale.ROOT, "1 thread, CPU time, best of %d rounds, %s; peak %.1f GFLOP/s%n", rounds,
                    (copies == 1 ? "weights in cache" : copies + " weight copies (streamed)") + (linear ? ", linear (recycled outputs)" : ""), peak);
            for (int i = 0; i < shapes.length; i++) {
                StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-14s", shapes[i]));
                double flops = 2.0 * mkn[i][0] * mkn[i][1] * mkn[i][2];
                for (int v = 0; v < variants.length; v++) {
                    sb.append(String.format(Locale.ROOT, "  %s %8.1f µs %5.1f%%", variants[v], best[i][v] / 1e3,
                            100 * flops / best[i][v] / peak));
                }
                System.out.println(sb);
            }
        }
    }

    private static void set(SimdBackend backend, String variant) {
        switch (variant) {
            case "base" -> backend.biasInTiles = false;
            case "biasInTiles" -> backend.biasInTiles = true;
            default -> throw new IllegalArgumentException(variant);
        }
    }

    private static Tensor random(Random rnd, int... shape) {
        Tensor t = Tensor.zeros(DType.F32, shape);
        float[] a = t.floatArray();
        for (int i = 0; i < a.length; i++) a[i] = rnd.nextFloat() - 0.5f;
        return t;
    }

    private static float fma(float b) {
        FloatVector a = FloatVector.broadcast(S, 0.999f), c = FloatVector.broadcast(S, b);
        FloatVector v0 = FloatVector.broadcast(S, 1f), v1 = v0.add(1), v2 = v0.add(2), v3 = v0.add(3), v4 = v0.add(4), v5 = v0.add(5);
        FloatVector v6 = v0.add(6), v7 = v0.add(7), v8 = v0.add(8), v9 = v0.add(9), v10 = v0.add(10), v11 = v0.add(11);
        for (int i = 0; i < (1 << 16); i++) {
            v0 = v0.fma(a, c); v1 = v1.fma(a, c); v2 = v2.fma(a, c); v3 = v3.fma(a, c); v4 = v4.fma(a, c); v5 = v5.fma(a, c);
            v6 = v6.fma(a, c); v7 = v7.fma(a, c); v8 = v8.fma(a, c); v9 = v9.fma(a, c); v10 = v10.fma(a, c); v11 = v11.fma(a, c);
        }
        return v0.add(v1).add(v2).add(v3).add(v4).add(v5).add(v6).add(v7).add(v8).add(v9).add(v10).add(v11)
                .reduceLanes(VectorOperators.ADD);
    }
}
