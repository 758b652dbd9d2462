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
 * Where a 2-thread GEMM of one row block (BERT's 128 × 768 × 768: each thread computes all 128 rows of half the panels)
 * loses against twice the 1-thread speed, measured in parts that survive a loaded machine:
 *
 * <ol>
 *   <li>1 thread, the calling thread's CPU time: the whole product, and each half of the panels as a product of its
 *       own (the same weights, cut in two) — what each thread's share costs when it runs alone;</li>
 *   <li>2 threads, each call's CPU and wall time of the caller's task and of the helper's task, when the helper first
 *       looked at the job, and the job's wall time from publishing to joined ({@link WorkerPool.Stats}; needs
 *       {@code -Djformers.cpu.poolStats=true}). Minima and medians over the calls.</li>
 * </ol>
 *
 * The weight is used call after call, as {@code GemmKernelBenchmark} does ({@code weightCopies} = 1).
 *
 * <p>{@code java --add-modules jdk.incubator.vector -XX:+UseTransparentHugePages -Djformers.cpu.poolStats=true -cp
 * benchmarks.jar dev.jformers.cpu.GemmSplitTimes [MxKxN] [rounds] [calls per round] [variant,variant,...]} (variants:
 * {@code panels}, the default split; {@code chunksN}, N runs of panels a thread; {@code onerow}, each panel block swept first by one row; {@code streamed}, the
 * default split over copies of the weight that stream from DRAM; {@code yoffN}, the default with Y starting N floats
 * into its array, which moves where its rows' cache lines fall against the two threads' columns)
 */
public final class GemmSplitTimes {
    private GemmSplitTimes() {
    }

    public static void main(String[] args) {
        System.out.println(Machine.describe());
        if (!WorkerPool.STATS) {
            throw new IllegalStateException("run with -D" + WorkerPool.STATS_PROPERTY + "=true");
        }
        String[] mkn = (args.length > 0 ? args[0] : "128x768x768").split("x");
        int m = Integer.parseInt(mkn[0]), k = Integer.parseInt(mkn[1]), n = Integer.parseInt(mkn[2]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        int calls = args.length > 2 ? Integer.parseInt(args[2]) : 400;
        // 2-thread variants, alternated round by round: "panels" (the default split), "chunksN" (N runs of panels per
        // thread, claimed in turn), "onerow" (each panel block swept first by one row), "streamed" (the default split
        // over copies of the weight that stream from DRAM)
        String[] variants = (args.length > 3 ? args[3] : "panels").split(",");
        Random rnd = new Random(42);
        float[] wData = random(rnd, n * k);
        float[] bias = random(rnd, n);
        float[] x = random(rnd, m * k);
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        try (SimdBackend one = new SimdBackend(1, 0); SimdBackend two = new SimdBackend(2, 0)) {
            PackedLinear whole = pack(one, wData, bias, 0, n, k);
            int nr = whole.panelWidth, split = whole.panelCount / 2 * nr;   // the 2-thread cut
            PackedLinear first = pack(one, wData, bias, 0, split, k), second = pack(one, wData, bias, split, n, k);
            PackedLinear whole2 = pack(two, wData, bias, 0, n, k);
            // copies of the weight, cycled through call after call, past the L3: every call streams its weight from DRAM
            int copies = (int) Math.max(2, (64L << 20) / (4L * n * k));
            PackedLinear[] streamed = new PackedLinear[copies];
            for (int i = 0; i < copies; i++) {
                streamed[i] = pack(one, wData, bias, 0, n, k);
            }
            float[] y = new float[m * n + 16], yHalf = new float[m * Math.max(split, n - split)];
            PackedLinear[] oneThread = {whole, first, second, null};
            String[] oneNames = {"whole (" + n + " columns)", "first half (" + split + ")", "second half (" + (n - split) + ")",
                    "whole, " + copies + " copies of the weight in turn (streamed from DRAM)"};
            long[] bestCpu = new long[4];
            Arrays.fill(bestCpu, Long.MAX_VALUE);
            int stats = WorkerPool.Stats.NAMES.length;
            long[][][] perCallOf = new long[variants.length][stats + 1][rounds * calls];   // counters per call, then the wall
            int[] recordedOf = new int[variants.length];
            for (int round = -2; round < rounds; round++) {   // negative rounds warm up
                for (int v = 0; v < 4; v++) {
                    float[] out = v == 0 || v == 3 ? y : yHalf;
                    long c0 = mx.getCurrentThreadCpuTime();
                    for (int c = 0; c < calls; c++) {
                        one.gemm(x, 0, m, v == 3 ? streamed[c % copies] : oneThread[v], out, 0);
                    }
                    long cpu = (mx.getCurrentThreadCpuTime() - c0) / calls;
                    if (round >= 0) {
                        bestCpu[v] = Math.min(bestCpu[v], cpu);
                    }
                }
                for (int v = 0; v < variants.length; v++) {
                    two.gemmChunksPerThread = variants[v].startsWith("chunks") ? Integer.parseInt(variants[v].substring(6)) : 1;
                    two.oneRowSweepMaxRows = variants[v].equals("onerow") ? Integer.MAX_VALUE : SimdBackend.ONE_ROW_SWEEP_MAX_ROWS;
                    two.streamedWeightBytes = variants[v].equals("onerow") ? -1 : SimdBackend.LAST_LEVEL_CACHE_BYTES;
                    long[][] perCall = perCallOf[v];
                    int yOff = variants[v].startsWith("yoff") ? Integer.parseInt(variants[v].substring(4)) : 0;   // Y's start, floats
                    for (int c = 0; c < calls; c++) {
                        long[] s0 = WorkerPool.Stats.snapshot();
                        long w0 = System.nanoTime();
                        two.gemm(x, 0, m, variants[v].equals("streamed") ? streamed[c % copies] : whole2, y, yOff);
                        long wall = System.nanoTime() - w0;
                        long[] s1 = WorkerPool.Stats.snapshot();
                        if (round >= 0) {
                            for (int i = 0; i < stats; i++) {
                                perCall[i][recordedOf[v]] = s1[i] - s0[i];
                            }
                            perCall[stats][recordedOf[v]++] = wall;
                        }
                    }
                }
            }
            double flops = 2.0 * m * k * n;
            System.out.printf(Locale.ROOT, "%n%d×%d×%d, %d rounds of %d calls; 1 thread: calling thread's CPU time, best round's mean per call%n%n",
                    m, k, n, rounds, calls);
            System.out.println("| 1 thread | µs a call | GFLOP/s |");
            System.out.println("|---|---:|---:|");
            for (int v = 0; v < 4; v++) {
                double f = v == 0 || v == 3 ? flops : 2.0 * m * k * (v == 1 ? split : n - split);
                System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f |%n", oneNames[v], bestCpu[v] / 1e3, f / bestCpu[v]);
            }
            for (int v = 0; v < variants.length; v++) {
                long[][] perCall = perCallOf[v];
                int recorded = recordedOf[v];
                System.out.printf(Locale.ROOT, "%n2 threads, %s, per call (jobs handed to the helper: %d of %d): minimum / 10th percentile / median%n%n",
                        variants[v], Arrays.stream(perCall[WorkerPool.Stats.JOBS_HANDED], 0, recorded).sum(), recorded);
                System.out.println("| per call | min | p10 | median |");
                System.out.println("|---|---:|---:|---:|");
                int[] shown = {stats, 10, 2, 3, 7, 8, 4, 6, 11};
                String[] names = {"call, wall µs (outside)", WorkerPool.Stats.NAMES[10], WorkerPool.Stats.NAMES[2], WorkerPool.Stats.NAMES[3],
                        WorkerPool.Stats.NAMES[7], WorkerPool.Stats.NAMES[8], "helper's arrival after publishing, µs", WorkerPool.Stats.NAMES[6],
                        WorkerPool.Stats.NAMES[11]};
                for (int s = 0; s < shown.length; s++) {
                    long[] col = Arrays.copyOf(perCall[shown[s]], recorded);
                    Arrays.sort(col);
                    System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.1f |%n", names[s], col[0] / 1e3, col[recorded / 10] / 1e3, col[recorded / 2] / 1e3);
                }
                // calls where both sides ran at once, unpreempted: the helper arrived within 5 µs and each side's task wall
                // time is within 3% of its CPU time
                int together = 0;
                long[][] both = new long[4][recorded];
                for (int c = 0; c < recorded; c++) {
                    long cw = perCall[7][c], cc = perCall[2][c], hw = perCall[8][c], hc = perCall[3][c];
                    if (perCall[WorkerPool.Stats.JOBS_HANDED][c] == 1 && hw > 0 && perCall[4][c] < 5_000
                            && cw < cc * 1.03 && hw < hc * 1.03) {
                        both[0][together] = perCall[10][c];
                        both[1][together] = cc;
                        both[2][together] = hc;
                        both[3][together++] = Math.max(cw, hw) - Math.min(cw, hw);
                    }
                }
                System.out.printf(Locale.ROOT, "%nCalls where both sides ran at once, unpreempted: %d of %d%n%n", together, recorded);
                if (together > 0) {
                    System.out.println("| those calls | min | p10 | median |");
                    System.out.println("|---|---:|---:|---:|");
                    String[] bothNames = {"job wall, µs", "caller's task CPU, µs", "helper's task CPU, µs", "|caller's − helper's task wall|, µs"};
                    for (int s = 0; s < 4; s++) {
                        long[] col = Arrays.copyOf(both[s], together);
                        Arrays.sort(col);
                        System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.1f |%n", bothNames[s], col[0] / 1e3, col[together / 10] / 1e3,
                                col[together / 2] / 1e3);
                    }
                }
                long[] wall = Arrays.copyOf(perCall[stats], recorded);
                Arrays.sort(wall);
                double mean = Arrays.stream(wall).average().orElse(0);
                System.out.printf(Locale.ROOT, "%n2 threads, %s, fastest call %.1f µs = %.1f GFLOP/s (%.1f%% of twice the 1-thread whole; "
                                + "1-thread halves' max %.1f µs); mean of all calls %.1f µs (%.1f%%)%n", variants[v], wall[0] / 1e3,
                        flops / wall[0], 100.0 * bestCpu[0] / 2 / wall[0], Math.max(bestCpu[1], bestCpu[2]) / 1e3, mean / 1e3,
                        100.0 * bestCpu[0] / 2 / mean);
            }
        }
    }

    /** Columns [c0, c1) of the [n, k] weight (OUT_IN) and bias, packed by {@code backend}. */
    private static PackedLinear pack(SimdBackend backend, float[] w, float[] bias, int c0, int c1, int k) {
        float[] part = Arrays.copyOfRange(w, c0 * k, c1 * k), b = Arrays.copyOfRange(bias, c0, c1);
        return (PackedLinear) backend.prepareLinear(Tensor.of(part, c1 - c0, k), Tensor.of(b, c1 - c0), WeightLayout.OUT_IN);
    }

    private static float[] random(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = rnd.nextFloat() - 0.5f;
        }
        return v;
    }
}
