package dev.jformers.cpu;

import dev.jformers.benchmarks.Machine;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

/**
 * What streaming the weights from memory costs the GEMMs of an encoder forward: the linear layers of a 384-wide
 * encoder (per layer 384→1152, 384→384, 384→1536, 1536→384, as all-MiniLM-L6-v2 and e5-small-v2) on M rows, each
 * layer with its own weights (6 layers: 42 MB, more than the 32 MB L3, so every forward reads them from DRAM as a
 * model does) against one layer's weights over and over (1.8 MB: they stay in L2/L3). The difference is the
 * memory stall a short sequence pays (see how-it-works §9, "Few rows").
 *
 * <p>1 thread; interleaved rounds in one process, the minimum of the calling thread's CPU time per variant, so
 * it can be run on a loaded machine:
 * {@code java --add-modules jdk.incubator.vector -XX:+UseTransparentHugePages -cp benchmarks.jar
 * dev.jformers.cpu.StreamedWeightsGemm [rows,rows,...] [layers] [rounds] [tiles,tiles,...]} (tiles: {@code 4-row},
 * {@code 6-row}, {@code onerow}; all three by default)
 */
public final class StreamedWeightsGemm {
    private StreamedWeightsGemm() {
    }

    public static void main(String[] args) {
        System.out.println(Machine.describe());
        int[] ms = Arrays.stream((args.length > 0 ? args[0] : "16,32,64,128").split(",")).mapToInt(Integer::parseInt).toArray();
        int layers = args.length > 1 ? Integer.parseInt(args[1]) : 6;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 7;
        // tiles: "4-row" (4-row tiles alone), "6-row" (6-row pairs, then 4-row), "onerow" (each panel block swept first
        // by one row, then 6-row tiles: SimdBackend.sweepOneRowFirst, what the backend does for few rows when its
        // weights stream — forced here in both columns)
        String[] tiles = (args.length > 3 ? args[3] : "4-row,6-row,onerow").split(",");
        int[][] shapes = {{384, 1152}, {384, 384}, {384, 1536}, {1536, 384}};   // K, N
        Random rnd = new Random(1);
        ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        try (SimdBackend backend = new SimdBackend(1, 0)) {
            PackedLinear[][] w = new PackedLinear[layers][shapes.length];
            for (PackedLinear[] layer : w) {
                for (int g = 0; g < shapes.length; g++) {
                    layer[g] = (PackedLinear) backend.prepareLinear(random(rnd, shapes[g][1] * shapes[g][0]).reshape(shapes[g][1], shapes[g][0]),
                            random(rnd, shapes[g][1]), WeightLayout.OUT_IN);
                }
            }
            System.out.println("| M | layers | tiles | weights streamed: ms, GFLOP/s | one layer's weights (in cache): ms, GFLOP/s | streamed / cached |");
            System.out.println("|---:|---:|---|---:|---:|---:|");
            for (int m : ms) {
                float[][] x = new float[shapes.length][], y = new float[shapes.length][];
                long flops = 0;
                for (int g = 0; g < shapes.length; g++) {
                    x[g] = random(rnd, m * shapes[g][0]).floatArray();
                    y[g] = new float[m * shapes[g][1]];
                    flops += 2L * m * shapes[g][0] * shapes[g][1] * layers;
                }
                int reps = Math.max(1, (int) (4e9 / flops));   // ~4 GFLOP per measurement
                long[] best = new long[2 * tiles.length];
                Arrays.fill(best, Long.MAX_VALUE);
                for (int round = 0; round <= rounds; round++) {   // round 0 warms up
                    for (int v = 0; v < best.length; v++) {
                        int cached = v % 2;
                        String tile = tiles[v / 2];
                        backend.sixRowTileMaxRows = tile.equals("4-row") ? 0 : Integer.MAX_VALUE;
                        backend.oneRowSweepMaxRows = tile.equals("onerow") ? Integer.MAX_VALUE : 0;
                        backend.streamedWeightBytes = 0;
                        long t0 = bean.getCurrentThreadCpuTime();
                        for (int rep = 0; rep < reps; rep++) {
                            for (int l = 0; l < layers; l++) {
                                PackedLinear[] lw = w[cached == 1 ? 0 : l];
                                for (int g = 0; g < shapes.length; g++) {
                                    backend.gemm(x[g], 0, m, lw[g], y[g], 0);
                                }
                            }
                        }
                        long t = (bean.getCurrentThreadCpuTime() - t0) / reps;
                        if (round > 0) {
                            best[v] = Math.min(best[v], t);
                        }
                    }
                }
                for (int v = 0; v < best.length; v += 2) {
                    String tile = tiles[v / 2];
                    System.out.printf(Locale.ROOT, "| %d | %d | %s | %.3f, %.1f | %.3f, %.1f | %.2f |%n", m, layers,
                            tile.equals("6-row") ? "6-row pairs, then 4-row" : tile.equals("onerow") ? "one row first, then 6-row" : tile,
                            best[v] / 1e6, flops / (double) best[v], best[v + 1] / 1e6, flops / (double) best[v + 1], best[v] / (double) best[v + 1]);
                }
            }
        }
    }

    private static Tensor random(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = rnd.nextFloat() - 0.5f;
        }
        return Tensor.of(v, n);
    }
}
