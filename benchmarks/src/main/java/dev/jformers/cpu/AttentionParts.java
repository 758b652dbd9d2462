package dev.jformers.cpu;

import dev.jformers.core.AttentionMask;
import dev.jformers.core.Tensor;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

import static dev.jformers.cpu.BackwardGemmParts.cpu;
import static dev.jformers.cpu.BackwardGemmParts.random;

/**
 * The parts of {@link SimdBackend#attention} and {@link SimdBackend#attentionBackward} at a training step's
 * shapes (default all-MiniLM-L6-v2 at b32×s128: 384 heads of 128 × 128, d = 32), each over every head, timed
 * in CPU time of the calling thread (1 thread; the honest figure on a loaded machine), round after round,
 * the minimum printed. The forward without probabilities (an encoder's) is timed both ways: blocks of query
 * rows in the lanes ({@link Kernels#attentionBlock}, the default) and blocks of 4 rows with a softmax per row
 * ({@code attentionInLanes} false). dV and dK are timed as the backend computes them now (transposed, [d × T], then
 * copied into the head's columns) and as before (P or dS transposed first, then a product with n = d).
 * (In package dev.jformers.cpu to reach the kernels.)
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -cp benchmarks.jar dev.jformers.cpu.AttentionParts
 * [batch] [seq] [heads] [d] [rounds]}
 */
public final class AttentionParts {
    private AttentionParts() {
    }

    public static void main(String[] args) {
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 32;
        int t = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int heads = args.length > 2 ? Integer.parseInt(args[2]) : 12;
        int d = args.length > 3 ? Integer.parseInt(args[3]) : 32;
        int rounds = args.length > 4 ? Integer.parseInt(args[4]) : 7;
        int c = heads * d, bhs = batch * heads;
        SimdBackend backend = new SimdBackend(1, 0);
        Kernels kernels = Kernels.forBits(backend.vectorBits());
        SplittableRandom rnd = new SplittableRandom(7);
        Tensor fused = Tensor.of(random(rnd, batch * t * 3 * c), batch, t, 3 * c);
        Tensor q = fused.narrow(2, 0, c), k = fused.narrow(2, c, c), v = fused.narrow(2, 2 * c, c);
        Tensor dContext = Tensor.of(random(rnd, batch * t * c), batch, t, c);
        float scale = (float) (1 / Math.sqrt(d));
        float[] qkv = fused.floatArray(), dc = dContext.floatArray();
        float[] p = backend.attention(q, k, v, heads, AttentionMask.NONE, scale, true).probs().toFloatArray();
        float[] dS = random(rnd, t * t), tr = new float[t * t], dT = new float[d * t], out = new float[batch * t * c];
        // per head: Q at b·t·3c + h·d (row stride 3c), K at + c, V at + 2c; dC and outputs at b·t·c + h·d (stride c)
        IntConsumer[] parts = {
            bh -> {   // now: dVᵀ = dCᵀ·P [d × T], dC read in place as the transposed A, then into dV's columns
                kernels.matMulTransposedRows(dc, ctx(bh, heads, t, c, d), c, d, t, p, bh * t * t, t, t, dT, 0, t);
                Kernels.transpose(dT, 0, t, d, t, out, ctx(bh, heads, t, c, d), c, 1f);
            },
            bh -> {   // before: Pᵀ copied, then Pᵀ·dC with n = d
                Kernels.transpose(p, bh * t * t, t, t, t, tr, t, 1f);
                kernels.matMulRows(tr, 0, t, t, t, dc, ctx(bh, heads, t, c, d), c, d, out, ctx(bh, heads, t, c, d), c);
            },
            bh -> Kernels.transpose(qkv, qkvRow(bh, heads, t, c, d) + 2 * c, 3 * c, t, d, dT, t, 1f),
            bh -> kernels.matMulRows(dc, ctx(bh, heads, t, c, d), c, t, d, dT, 0, t, t, dS, 0, t),
            bh -> {
                for (int i = 0; i < t; i++) {
                    kernels.softmaxBackward(dS, i * t, p, bh * t * t + i * t, tr, i * t, t, scale);
                }
            },
            bh -> kernels.matMulRows(dS, 0, t, t, t, qkv, qkvRow(bh, heads, t, c, d) + c, 3 * c, d, out, ctx(bh, heads, t, c, d), c),
            bh -> {   // now: dKᵀ = Qᵀ·dS [d × T], Q read in place as the transposed A, then into dK's columns
                kernels.matMulTransposedRows(qkv, qkvRow(bh, heads, t, c, d), 3 * c, d, t, dS, 0, t, t, dT, 0, t);
                Kernels.transpose(dT, 0, t, d, t, out, ctx(bh, heads, t, c, d), c, 1f);
            },
            bh -> {   // before: dSᵀ copied, then dSᵀ·Q with n = d
                Kernels.transpose(dS, 0, t, t, t, tr, t, 1f);
                kernels.matMulRows(tr, 0, t, t, t, qkv, qkvRow(bh, heads, t, c, d), 3 * c, d, out, ctx(bh, heads, t, c, d), c);
            },
            bh -> kernels.matMulRows(p, bh * t * t, t, t, t, qkv, qkvRow(bh, heads, t, c, d) + 2 * c, 3 * c, d, out, ctx(bh, heads, t, c, d), c),
        };
        String[] names = {"dVᵀ = dCᵀ·P + transpose (now)", "dV = Pᵀ·dC, P transposed (before)", "Vᵀ gather", "dP = dC·Vᵀ",
            "softmax backward rows", "dQ = dS·K", "dKᵀ = Qᵀ·dS + transpose (now)", "dK = dSᵀ·Q, dS transposed (before)",
            "forward: context = P·V"};
        double[] flop = new double[parts.length];   // the products' FLOPs; 0 for the gather and the row pass
        for (int i = 0; i < parts.length; i++) {
            flop[i] = names[i].startsWith("Vᵀ") || names[i].startsWith("softmax") ? 0 : 2.0 * t * t * d;
        }
        long[] best = new long[parts.length + 4];
        Arrays.fill(best, Long.MAX_VALUE);
        Tensor probs = Tensor.of(p, batch, heads, t, t);
        for (int round = 0; round < rounds + 2; round++) {   // 2 rounds of warm-up
            for (int i = 0; i < parts.length; i++) {
                long c0 = cpu();
                for (int bh = 0; bh < bhs; bh++) {
                    parts[i].accept(bh);
                }
                best[i] = round < 2 ? best[i] : Math.min(best[i], cpu() - c0);
            }
            long c0 = cpu();
            Tensor[] g = backend.attentionBackward(dContext, q, k, v, probs, heads, scale);
            long c1 = cpu();
            Tensor ctx = backend.attention(q, k, v, heads, AttentionMask.NONE, scale, true).context();
            long c2 = cpu();
            for (Tensor x : g) {
                backend.recycle(x);
            }
            backend.recycle(ctx);
            if (round >= 2) {
                best[parts.length] = Math.min(best[parts.length], c1 - c0);
                best[parts.length + 1] = Math.min(best[parts.length + 1], c2 - c1);
            }
            for (int way = 0; way < 2; way++) {   // an encoder's forward (no probabilities): queries in lanes, 4-row blocks
                backend.attentionInLanes = way == 0;
                long c3 = cpu();
                Tensor encoder = backend.attention(q, k, v, heads, AttentionMask.NONE, scale, false).context();
                long c4 = cpu();
                backend.recycle(encoder);
                if (round >= 2) {
                    best[parts.length + 2 + way] = Math.min(best[parts.length + 2 + way], c4 - c3);
                }
            }
            backend.attentionInLanes = true;
        }
        System.out.printf(Locale.ROOT, "b%d×s%d, %d heads of d = %d, %d rounds: CPU ms of one thread over all heads (min), GFLOP/s%n",
                batch, t, heads, d, rounds);
        for (int i = 0; i < parts.length; i++) {
            System.out.printf(Locale.ROOT, "  %-38s %8.2f ms %s%n", names[i], best[i] / 1e6,
                    flop[i] == 0 ? "" : String.format(Locale.ROOT, "%6.1f", flop[i] * bhs / best[i]));
        }
        System.out.printf(Locale.ROOT, "  %-38s %8.2f ms %6.1f%n", "attentionBackward (whole)", best[parts.length] / 1e6,
                8.0 * t * t * d * bhs / best[parts.length]);
        System.out.printf(Locale.ROOT, "  %-38s %8.2f ms %6.1f%n", "attention forward with probs (whole)",
                best[parts.length + 1] / 1e6, 4.0 * t * t * d * bhs / best[parts.length + 1]);
        System.out.printf(Locale.ROOT, "  %-38s %8.1f µs %6.1f%n", "forward, no probs: queries in lanes",
                best[parts.length + 2] / 1e3, 4.0 * t * t * d * bhs / best[parts.length + 2]);
        System.out.printf(Locale.ROOT, "  %-38s %8.1f µs %6.1f%n", "forward, no probs: blocks of 4 rows",
                best[parts.length + 3] / 1e3, 4.0 * t * t * d * bhs / best[parts.length + 3]);
        backend.close();
    }

    /** Offset of head bh's first element in a [B, T, C] tensor. */
    private static int ctx(int bh, int heads, int t, int c, int d) {
        return bh / heads * t * c + bh % heads * d;
    }

    /** Offset of head bh's query slice in the fused [B, T, 3C] tensor. */
    private static int qkvRow(int bh, int heads, int t, int c, int d) {
        return bh / heads * t * 3 * c + bh % heads * d;
    }
}
