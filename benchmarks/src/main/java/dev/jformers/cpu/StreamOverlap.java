package dev.jformers.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

/**
 * Can a panel block's stream from DRAM overlap the arithmetic of the block before it? 16 rows (a 16-token sentence)
 * over each of 600 panel blocks in a row (kc = 384 × 64 floats, 96 KiB each, 59 MB: every block comes from DRAM),
 * against the same work over one block (in cache); ns a block, the best of the rounds of the calling thread's CPU time,
 * so it can be run on a loaded machine. {@code base} is what the backend does ({@link SimdBackend#sweepOneRowFirst}):
 * row 0 over the block (the sweep that streams it), then rows 1–15 as 6 + 6 + 3-row tiles from L2. The variants move
 * the next block's stream into this block's arithmetic; every output still gets its FMAs in K order (the same bits):
 * <ul>
 *   <li>{@code touchN}: first the first N cache lines of each 4 KiB page of the next block (ordinary loads, all issued
 *   together), hoping that the hardware prefetcher fetches the rest of each page while this block computes;</li>
 *   <li>{@code pipeN}: row 0 of the next block in N pieces of K, spread between this block's three tiles;</li>
 *   <li>{@code kpipeN}: K in N pieces: this block's tiles over piece j, then the next block's row 0 over piece j;</li>
 *   <li>{@code fused5}: rows 1–5 of this block and row 0 of the next in one loop (a 5-row tile and a one-row tile,
 *   one K step of each per loop step; {@code base5} is the same rows without the fusion: row 0, then 5 + 5 + 5);</li>
 *   <li>{@code groupN}: the first sweeps of N blocks one after the other (one longer stream), then their other rows;</li>
 *   <li>{@code l1splitN} / {@code l1lateN}: rows 1–15 (or 7–15) over N pieces of K, so that the later tiles of a piece
 *   find it in L1;</li>
 *   <li>one sweep a block: {@code sweep1} (the backend's one-row tile), {@code sweep1u} (the same with separate panel
 *   loads: {@code panel.fma(x, acc)}, as before the thirteenth session), {@code sweep6} (the 6-row tile, A read from
 *   its rows), {@code sweep6s} (the 6-row tile over A packed 6 values a step, as a weight gradient's strips).</li>
 * </ul>
 * Findings (Zen 5, thirteenth session; docs/benchmarks.md, "Thirteenth session: the weights' stream against the
 * arithmetic"): no overlap variant is faster streamed (an ordinary load that misses holds up retirement, and the
 * prefetcher does not run ahead while the core computes); {@code base5}'s 5-row tile here, whose row stride is the
 * constant {@code KC}, is 4–6% faster than {@code base} in cache and streamed — the backend's own 5-row tile (row stride
 * a parameter) was not, and was not kept.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -XX:+UseTransparentHugePages -cp benchmarks.jar
 * dev.jformers.cpu.StreamOverlap [variant,variant,...] [rounds]}
 */
public final class StreamOverlap {
    private static final int KC = 384, NR = 64, BLOCK = KC * NR, ROWS = 16;
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_512;
    private static volatile float sink;

    private StreamOverlap() {
    }

    public static void main(String[] args) {
        String[] variants = (args.length > 0 ? args[0] : "base,touch1,touch2,pipe1,pipe3,pipe6,kpipe8,fused5,base5,group2,group4,l1split3,l1late3,sweep1,sweep1u,sweep6,sweep6s").split(",");
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int blocks = 600;
        Kernels kr = Kernels.forBits(512);
        Random rnd = new Random(1);
        float[] a = new float[ROWS * KC], c = new float[ROWS * NR], strip = new float[6 * KC];
        float[] b = new float[(blocks + 1) * BLOCK];
        for (int i = 0; i < a.length; i++) a[i] = rnd.nextFloat();
        for (int i = 0; i < b.length; i++) b[i] = rnd.nextFloat() - 0.5f;
        for (int t = 0; t < KC; t++) for (int r = 0; r < 6; r++) strip[6 * t + r] = a[r * KC + t];
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long[][] best = new long[variants.length][2];
        for (long[] x : best) Arrays.fill(x, Long.MAX_VALUE);
        for (int round = 0; round < rounds; round++) {
            for (int v = 0; v < variants.length; v++) {
                for (int cached = 0; cached < 2; cached++) {
                    String var = variants[v];
                    String name = var.replaceAll("[0-9]+$", "");
                    int n = name.length() < var.length() ? Integer.parseInt(var.substring(name.length())) : 0;
                    float touched = 0;
                    long t0 = mx.getCurrentThreadCpuTime();
                    for (int q = 0; q < blocks; q++) {
                        int off = cached == 1 ? 0 : q * BLOCK;
                        int next = q + 1 < blocks ? (cached == 1 ? 0 : (q + 1) * BLOCK) : -1;   // -1: no next block
                        switch (name) {
                            case "base" -> {   // base5: rows 1-15 as 5 + 5 + 5 (fused5's control)
                                oneRow(kr, a, b, off, 0, KC, c);
                                if (n == 5) {
                                    for (int r = 1; r < ROWS; r += 5) tile5(a, r * KC, b, off, -1, c, r * NR);
                                } else {
                                    rest(kr, a, b, off, 0, KC, c);
                                }
                            }
                            case "touch" -> {
                                for (int p = Math.max(next, 0); next >= 0 && p < next + BLOCK; p += 1024) {
                                    for (int i = 0; i < n; i++) touched += b[p + 16 * i];
                                }
                                oneRow(kr, a, b, off, 0, KC, c);
                                rest(kr, a, b, off, 0, KC, c);
                            }
                            case "pipe" -> {
                                if (q == 0) oneRow(kr, a, b, off, 0, KC, c);
                                for (int j = 0, done = 0; j < n; j++) {
                                    if (next >= 0) oneRow(kr, a, b, next, KC * j / n, KC * (j + 1) / n - KC * j / n, c);
                                    for (; done < 3 * (j + 1) / n; done++) restTile(kr, a, b, off, 0, KC, c, done);
                                }
                            }
                            case "kpipe" -> {
                                if (q == 0) oneRow(kr, a, b, off, 0, KC, c);
                                for (int j = 0; j < n; j++) {
                                    int k0 = KC * j / n, kb = KC * (j + 1) / n - k0;
                                    rest(kr, a, b, off, k0, kb, c);
                                    if (next >= 0) oneRow(kr, a, b, next, k0, kb, c);
                                }
                            }
                            case "fused" -> {
                                if (q == 0) oneRow(kr, a, b, off, 0, KC, c);
                                tile5(a, KC, b, off, next, c, NR);
                                for (int r = 6; r < ROWS; r += 5) tile5(a, r * KC, b, off, -1, c, r * NR);
                            }
                            case "group" -> {
                                if (q % n == 0) {
                                    for (int g = q; g < Math.min(blocks, q + n); g++) oneRow(kr, a, b, cached == 1 ? 0 : g * BLOCK, 0, KC, c);
                                }
                                rest(kr, a, b, off, 0, KC, c);
                            }
                            case "l1split" -> {
                                oneRow(kr, a, b, off, 0, KC, c);
                                for (int j = 0; j < n; j++) rest(kr, a, b, off, KC * j / n, KC * (j + 1) / n - KC * j / n, c);
                            }
                            case "l1late" -> {
                                oneRow(kr, a, b, off, 0, KC, c);
                                restTile(kr, a, b, off, 0, KC, c, 0);
                                for (int j = 0; j < n; j++) {
                                    int k0 = KC * j / n, kb = KC * (j + 1) / n - k0;
                                    restTile(kr, a, b, off, k0, kb, c, 1);
                                    restTile(kr, a, b, off, k0, kb, c, 2);
                                }
                            }
                            case "sweep" -> {
                                switch (var) {
                                    case "sweep1" -> oneRow(kr, a, b, off, 0, KC, c);
                                    case "sweep6" -> kr.gemmTile6From(a, 0, KC, b, off, KC, c, 0, NR, c, 0, NR);
                                    default -> throw new IllegalArgumentException(var);
                                }
                            }
                            case "sweep1u" -> oneRowSeparateLoads(a, b, off, c);
                            case "sweep6s" -> kr.gemmTileStrip(strip, 0, 6, b, off, KC, c, 0, NR, 6);
                            default -> throw new IllegalArgumentException(var);
                        }
                    }
                    sink = touched;
                    long t = (mx.getCurrentThreadCpuTime() - t0) / blocks;
                    if (round > 1) best[v][cached] = Math.min(best[v][cached], t);
                }
            }
        }
        System.out.println("ns a 96 KiB block, 16 rows: streamed from DRAM / in cache");
        for (int v = 0; v < variants.length; v++) {
            System.out.printf(Locale.ROOT, "%-9s %5d / %5d%n", variants[v], best[v][0], best[v][1]);
        }
    }

    /** Row 0 (the backend's one-row tile) over K steps [k0, k0 + kb) of the block at {@code off}. */
    private static void oneRow(Kernels kr, float[] a, float[] b, int off, int k0, int kb, float[] c) {
        kr.gemmTileShortFrom(a, k0, KC, b, off + k0 * NR, kb, c, 0, NR, c, 0, NR, 1);
    }

    /** Rows 1–15 as 6 + 6 + 3-row tiles over K steps [k0, k0 + kb). */
    private static void rest(Kernels kr, float[] a, float[] b, int off, int k0, int kb, float[] c) {
        for (int i = 0; i < 3; i++) restTile(kr, a, b, off, k0, kb, c, i);
    }

    /** Tile i of {@link #rest}: rows 1–6, 7–12 or 13–15. */
    private static void restTile(Kernels kr, float[] a, float[] b, int off, int k0, int kb, float[] c, int i) {
        int r = 1 + 6 * i;
        if (i < 2) {
            kr.gemmTile6From(a, r * KC + k0, KC, b, off + k0 * NR, kb, c, r * NR, NR, c, r * NR, NR);
        } else {
            kr.gemmTileShortFrom(a, r * KC + k0, KC, b, off + k0 * NR, kb, c, r * NR, NR, c, r * NR, NR, 3);
        }
    }

    /** The one-row tile as it was before the thirteenth session: each panel vector loaded, then {@code panel.fma(x, acc)}. */
    private static void oneRowSeparateLoads(float[] a, float[] b, int bOff, float[] c) {
        int l = S.length();
        FloatVector v0 = FloatVector.fromArray(S, c, 0), v1 = FloatVector.fromArray(S, c, l);
        FloatVector v2 = FloatVector.fromArray(S, c, 2 * l), v3 = FloatVector.fromArray(S, c, 3 * l);
        for (int t = 0, bi = bOff; t < KC; t++, bi += NR) {
            FloatVector x = FloatVector.broadcast(S, a[t]);
            v0 = FloatVector.fromArray(S, b, bi).fma(x, v0);
            v1 = FloatVector.fromArray(S, b, bi + l).fma(x, v1);
            v2 = FloatVector.fromArray(S, b, bi + 2 * l).fma(x, v2);
            v3 = FloatVector.fromArray(S, b, bi + 3 * l).fma(x, v3);
        }
        v0.intoArray(c, 0); v1.intoArray(c, l); v2.intoArray(c, 2 * l); v3.intoArray(c, 3 * l);
    }

    /**
     * Rows aOff / KC … + 4 (5 rows × 4 vectors) over the block at {@code bOff} into c from {@code cOff}; with
     * {@code nOff} ≥ 0 the same loop also takes row 0 over the block at {@code nOff} (one K step of each per step) into
     * c[0, 64): the fused variant (24 accumulators, 8 panel vectors a step: no register spills).
     */
    private static void tile5(float[] a, int aOff, float[] b, int bOff, int nOff, float[] c, int cOff) {
        int l = S.length();
        FloatVector v00 = FloatVector.fromArray(S, c, cOff), v01 = FloatVector.fromArray(S, c, cOff + l);
        FloatVector v02 = FloatVector.fromArray(S, c, cOff + 2 * l), v03 = FloatVector.fromArray(S, c, cOff + 3 * l);
        FloatVector v10 = FloatVector.fromArray(S, c, cOff + 1 * NR), v11 = FloatVector.fromArray(S, c, cOff + 1 * NR + l);
        FloatVector v12 = FloatVector.fromArray(S, c, cOff + 1 * NR + 2 * l), v13 = FloatVector.fromArray(S, c, cOff + 1 * NR + 3 * l);
        FloatVector v20 = FloatVector.fromArray(S, c, cOff + 2 * NR), v21 = FloatVector.fromArray(S, c, cOff + 2 * NR + l);
        FloatVector v22 = FloatVector.fromArray(S, c, cOff + 2 * NR + 2 * l), v23 = FloatVector.fromArray(S, c, cOff + 2 * NR + 3 * l);
        FloatVector v30 = FloatVector.fromArray(S, c, cOff + 3 * NR), v31 = FloatVector.fromArray(S, c, cOff + 3 * NR + l);
        FloatVector v32 = FloatVector.fromArray(S, c, cOff + 3 * NR + 2 * l), v33 = FloatVector.fromArray(S, c, cOff + 3 * NR + 3 * l);
        FloatVector v40 = FloatVector.fromArray(S, c, cOff + 4 * NR), v41 = FloatVector.fromArray(S, c, cOff + 4 * NR + l);
        FloatVector v42 = FloatVector.fromArray(S, c, cOff + 4 * NR + 2 * l), v43 = FloatVector.fromArray(S, c, cOff + 4 * NR + 3 * l);
        FloatVector w0 = FloatVector.fromArray(S, c, 0), w1 = FloatVector.fromArray(S, c, l);
        FloatVector w2 = FloatVector.fromArray(S, c, 2 * l), w3 = FloatVector.fromArray(S, c, 3 * l);
        int a0 = aOff, a1 = a0 + KC, a2 = a1 + KC, a3 = a2 + KC, a4 = a3 + KC;
        boolean fused = nOff >= 0;
        for (int t = 0, bi = bOff, ni = Math.max(nOff, 0); t < KC; t++, bi += NR, ni += NR) {
            FloatVector b0 = FloatVector.fromArray(S, b, bi), b1 = FloatVector.fromArray(S, b, bi + l);
            FloatVector b2 = FloatVector.fromArray(S, b, bi + 2 * l), b3 = FloatVector.fromArray(S, b, bi + 3 * l);
            FloatVector x = FloatVector.broadcast(S, a[a0 + t]);
            v00 = b0.fma(x, v00); v01 = b1.fma(x, v01); v02 = b2.fma(x, v02); v03 = b3.fma(x, v03);
            x = FloatVector.broadcast(S, a[a1 + t]);
            v10 = b0.fma(x, v10); v11 = b1.fma(x, v11); v12 = b2.fma(x, v12); v13 = b3.fma(x, v13);
            x = FloatVector.broadcast(S, a[a2 + t]);
            v20 = b0.fma(x, v20); v21 = b1.fma(x, v21); v22 = b2.fma(x, v22); v23 = b3.fma(x, v23);
            x = FloatVector.broadcast(S, a[a3 + t]);
            v30 = b0.fma(x, v30); v31 = b1.fma(x, v31); v32 = b2.fma(x, v32); v33 = b3.fma(x, v33);
            x = FloatVector.broadcast(S, a[a4 + t]);
            v40 = b0.fma(x, v40); v41 = b1.fma(x, v41); v42 = b2.fma(x, v42); v43 = b3.fma(x, v43);
            if (fused) {
                x = FloatVector.broadcast(S, a[t]);
                w0 = x.fma(FloatVector.fromArray(S, b, ni), w0);
                w1 = x.fma(FloatVector.fromArray(S, b, ni + l), w1);
                w2 = x.fma(FloatVector.fromArray(S, b, ni + 2 * l), w2);
                w3 = x.fma(FloatVector.fromArray(S, b, ni + 3 * l), w3);
            }
        }
        v00.intoArray(c, cOff); v01.intoArray(c, cOff + l); v02.intoArray(c, cOff + 2 * l); v03.intoArray(c, cOff + 3 * l);
        v10.intoArray(c, cOff + 1 * NR); v11.intoArray(c, cOff + 1 * NR + l); v12.intoArray(c, cOff + 1 * NR + 2 * l); v13.intoArray(c, cOff + 1 * NR + 3 * l);
        v20.intoArray(c, cOff + 2 * NR); v21.intoArray(c, cOff + 2 * NR + l); v22.intoArray(c, cOff + 2 * NR + 2 * l); v23.intoArray(c, cOff + 2 * NR + 3 * l);
        v30.intoArray(c, cOff + 3 * NR); v31.intoArray(c, cOff + 3 * NR + l); v32.intoArray(c, cOff + 3 * NR + 2 * l); v33.intoArray(c, cOff + 3 * NR + 3 * l);
        v40.intoArray(c, cOff + 4 * NR); v41.intoArray(c, cOff + 4 * NR + l); v42.intoArray(c, cOff + 4 * NR + 2 * l); v43.intoArray(c, cOff + 4 * NR + 3 * l);
        if (fused) {
            w0.intoArray(c, 0); w1.intoArray(c, l); w2.intoArray(c, 2 * l); w3.intoArray(c, 3 * l);
        }
    }
}
