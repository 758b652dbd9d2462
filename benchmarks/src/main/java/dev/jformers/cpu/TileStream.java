package dev.jformers.cpu;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;
import java.util.Random;

/**
 * How fast one sweep of each register tile height reads a panel block that comes from DRAM: one sweep over each of 400
 * panel blocks in a row (kc × 64 floats each, 38 MB at kc = 384: more than the L3, so every block streams), against
 * the same sweeps over one block (in cache). The calling thread's CPU time, the best of 8 rounds, so it can be run on a
 * loaded machine. The difference between the two columns is what a GEMM's first sweep of a block waits for memory
 * ({@link SimdBackend#ONE_ROW_SWEEP_MAX_ROWS}). 512-bit tiles; "gemv4 row" is the one-row loop (two chains a column).
 *
 * <p>{@code java --add-modules jdk.incubator.vector -XX:+UseTransparentHugePages -cp benchmarks.jar
 * dev.jformers.cpu.TileStream [kc]}
 */
public final class TileStream {
    public static void main(String[] args) {
        int kc = args.length > 0 ? Integer.parseInt(args[0]) : 384;
        int blocks = 400;
        Kernels kr = Kernels.forBits(512);
        Random rnd = new Random(1);
        float[] a = new float[16 * kc], c = new float[16 * 64];
        float[] b = new float[blocks * kc * 64];
        for (int i = 0; i < a.length; i++) a[i] = rnd.nextFloat();
        for (int i = 0; i < b.length; i++) b[i] = rnd.nextFloat() - 0.5f;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        int[] hs = {1, 2, 3, 4, 6, 0};   // 0: GEMV loop (gemv4 via gemmTile rows 1)
        long[][] best = new long[hs.length][2];
        for (long[] x : best) java.util.Arrays.fill(x, Long.MAX_VALUE);
        int blk = kc * 64;
        for (int round = 0; round < 10; round++) {
            for (int v = 0; v < hs.length; v++) {
                for (int cached = 0; cached < 2; cached++) {
                    int h = hs[v];
                    long t0 = mx.getCurrentThreadCpuTime();
                    for (int rep = 0; rep < 3; rep++) {
                        for (int q = 0; q < blocks; q++) {
                            int off = cached == 1 ? 0 : q * blk;
                            if (h == 6) kr.gemmTile6From(a, 0, kc, b, off, kc, c, 0, 64, c, 0, 64);
                            else if (h == 4) kr.gemmTile(a, 0, kc, b, off, kc, c, 0, 64, 4);
                            else if (h == 0) kr.gemmTile(a, 0, kc, b, off, kc, c, 0, 64, 1);
                            else kr.gemmTileShortFrom(a, 0, kc, b, off, kc, c, 0, 64, c, 0, 64, h);
                        }
                    }
                    long t = (mx.getCurrentThreadCpuTime() - t0) / 3 / blocks;
                    if (round > 1) best[v][cached] = Math.min(best[v][cached], t);
                }
            }
        }
        System.out.printf(Locale.ROOT, "kc = %d, blocks of %d KB: ns a sweep, streamed / in cache (GB/s streamed)%n", kc, blk * 4 / 1024);
        for (int v = 0; v < hs.length; v++) {
            System.out.printf(Locale.ROOT, "%s: %d / %d (%.1f GB/s)%n", hs[v] == 0 ? "gemv4 row" : hs[v] + " rows", best[v][0], best[v][1], blk * 4.0 / best[v][0]);
        }
    }
}
