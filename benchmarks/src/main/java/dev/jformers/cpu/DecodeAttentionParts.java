package dev.jformers.cpu;

import dev.jformers.benchmarks.PeakBenchmark;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.Tensor;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

import static dev.jformers.cpu.BackwardGemmParts.cpu;
import static dev.jformers.cpu.BackwardGemmParts.random;

/**
 * The parts of a decoding step's attention ({@link SimdBackend#attention} with one query row over a KV cache) at
 * GPT-2 124M's shapes: 12 layers, each with its own cache [capacity, 768] of which {@code positions} are filled,
 * 12 heads of d = 64. Timed in CPU time of the calling thread (1 thread; the honest figure on a loaded machine),
 * summed over the 12 layers (one step), round after round, the minimum printed: hot (the caches stay in cache
 * between layers) and cold (a 64 MB array is read before each layer, as a step's weights stream between the
 * layers' attentions, so each layer's keys and values come from memory).
 * (In package dev.jformers.cpu to reach the kernels.)
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -cp benchmarks.jar dev.jformers.cpu.DecodeAttentionParts
 * [positions] [rounds]}
 */
public final class DecodeAttentionParts {
    private static final com.sun.management.ThreadMXBean ALLOCATED =
            (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();

    private DecodeAttentionParts() {
    }

    private interface Part {
        void run(int layer);
    }

    public static void main(String[] args) {
        int positions = args.length > 0 ? Integer.parseInt(args[0]) : 96;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int layers = 12, heads = 12, d = 64, c = heads * d, capacity = 160;
        float scale = (float) (1 / Math.sqrt(d));
        SimdBackend backend = new SimdBackend(1, 0);
        Kernels kernels = Kernels.forBits(backend.vectorBits());
        SplittableRandom rnd = new SplittableRandom(7);
        Tensor[] q = new Tensor[layers], k = new Tensor[layers], v = new Tensor[layers];
        for (int i = 0; i < layers; i++) {
            q[i] = Tensor.of(random(rnd, c), 1, 1, c);
            k[i] = Tensor.of(random(rnd, capacity * c), 1, capacity, c).narrow(1, 0, positions);
            v[i] = Tensor.of(random(rnd, capacity * c), 1, capacity, c).narrow(1, 0, positions);
        }
        Tensor mask = Tensor.ofLongs(onesLong(positions), 1, positions);
        float[] p = new float[heads * positions], out = new float[c];
        float[] flush = new float[16 << 20];
        Arrays.fill(flush, 1f);
        float[] oldAcc = new float[c];
        Part[] parts = {
            layer -> backend.recycle(backend.attention(q[layer], k[layer], v[layer], heads, AttentionMask.causal(mask), scale,
                    false).context()),
            layer -> before(kernels, q[layer].floatArray(), k[layer].floatArray(), v[layer].floatArray(), 0, heads, heads, d,
                    positions, scale, p, oldAcc, out),
            layer -> now(kernels, q[layer].floatArray(), k[layer].floatArray(), v[layer].floatArray(), 0, positions, heads, d,
                    positions, scale, p, oldAcc),
            layer -> before(kernels, q[layer].floatArray(), k[layer].floatArray(), v[layer].floatArray(), 0, heads / 2, heads, d,
                    positions, scale, p, oldAcc, out),
            layer -> now(kernels, q[layer].floatArray(), k[layer].floatArray(), v[layer].floatArray(), 0, positions / 2, heads, d,
                    positions, scale, p, oldAcc),
            layer -> {   // scores: position by position, a dot and a lane sum per head
                float[] qa = q[layer].floatArray(), ka = k[layer].floatArray();
                for (int j = 0; j < positions; j++) {
                    kernels.headDots(qa, 0, ka, j * c, heads, d, scale, p, j, positions);
                }
            },
            layer -> {
                for (int h = 0; h < heads; h++) {
                    kernels.softmax(p, h * positions, positions);
                }
            },
            layer -> {   // context as before: position by position into a scratch row, then copied
                float[] va = v[layer].floatArray();
                Arrays.fill(oldAcc, 0f);
                for (int j = 0; j < positions; j++) {
                    kernels.headAxpys(p, j, positions, va, j * c, oldAcc, 0, heads, d);
                }
                System.arraycopy(oldAcc, 0, out, 0, c);
            },
            layer -> {   // context as decodingAttention has it: chunks of positions, the sums of 6 heads in registers
                float[] va = v[layer].floatArray();
                int chunk = SimdBackend.decodingChunk(positions);
                for (int j0 = 0; j0 < positions; j0 += chunk) {
                    kernels.chunkAxpys(p, j0, positions, Math.min(chunk, positions - j0), va, j0 * c, c, oldAcc, 0, heads, d);
                }
            },
            layer -> {   // context, another order (not used): head by head, accumulated in registers (matMulRows' one-row product)
                float[] va = v[layer].floatArray();
                for (int h = 0; h < heads; h++) {
                    kernels.matMulRows(p, h * positions, positions, 1, positions, va, h * d, c, d, out, h * d, c);
                }
            },
        };
        String[] names = {"backend.attention (whole, now)", "before: 12 heads", "now: all positions",
            "before: heads 0-5 (a thread's share of 2)", "now: first half of the positions (the same)",
            "scores: dot per position and head", "softmax per head",
            "context: axpys per position", "context: chunkAxpys (chunks, registers)", "context, other order: matMulRows per head"};
        long[][] best = new long[2][parts.length];
        long[] allocated = new long[parts.length];   // bytes of one hot step, last round
        for (long[] b : best) {
            Arrays.fill(b, Long.MAX_VALUE);
        }
        float sink = 0;
        for (int round = 0; round < rounds + 3; round++) {   // 3 rounds of warm-up
            for (int cold = 0; cold < 2; cold++) {
                for (int i = 0; i < parts.length; i++) {
                    long total = 0;
                    if (cold == 0) {
                        allocated[i] = 0;
                    }
                    for (int layer = 0; layer < layers; layer++) {
                        if (cold == 1) {
                            sink += PeakBenchmark.read(flush);
                        }
                        long a0 = ALLOCATED.getCurrentThreadAllocatedBytes(), c0 = cpu();
                        parts[i].run(layer);
                        total += cpu() - c0;
                        if (cold == 0) {
                            allocated[i] += ALLOCATED.getCurrentThreadAllocatedBytes() - a0;
                        }
                    }
                    if (round >= 3) {
                        best[cold][i] = Math.min(best[cold][i], total);
                    }
                }
            }
        }
        System.out.printf(Locale.ROOT, "decoding attention, %d layers × %d heads of d = %d over %d cached positions, %d rounds: "
                + "CPU µs of one thread per step (min)%s%n", layers, heads, d, positions, rounds, sink == 0 ? "" : " ");
        System.out.printf(Locale.ROOT, "  %-44s %9s %9s %12s%n", "part", "hot", "cold", "bytes alloc.");
        for (int i = 0; i < parts.length; i++) {
            System.out.printf(Locale.ROOT, "  %-44s %9.1f %9.1f %12d%n", names[i], best[0][i] / 1e3, best[1][i] / 1e3, allocated[i]);
        }
        backend.close();
    }

    private static long[] onesLong(int n) {
        long[] a = new long[n];
        Arrays.fill(a, 1L);
        return a;
    }

    /** The decoding loop before: position by position across heads [h0, h1), scores then context via a scratch row. */
    private static void before(Kernels kernels, float[] qa, float[] ka, float[] va, int h0, int h1, int heads, int d, int tk,
                               float scale, float[] p, float[] acc, float[] out) {
        int c = heads * d;
        for (int j = 0; j < tk; j++) {
            kernels.headDots(qa, h0 * d, ka, j * c + h0 * d, h1 - h0, d, scale, p, j, tk);
        }
        for (int h = h0; h < h1; h++) {
            kernels.softmax(p, (h - h0) * tk, tk);
        }
        Arrays.fill(acc, 0, (h1 - h0) * d, 0f);
        for (int j = 0; j < tk; j++) {
            kernels.headAxpys(p, j, tk, va, j * c + h0 * d, acc, 0, h1 - h0, d);
        }
        System.arraycopy(acc, 0, out, h0 * d, (h1 - h0) * d);
    }

    /**
     * The decoding loop now (SimdBackend's decodingAttention) over positions [j0, j1) for every head: scores in blocks of
     * 4 rows, softmax (over the whole row only when [j0, j1) is all of it), the weighted values into a partial row.
     */
    private static void now(Kernels kernels, float[] qa, float[] ka, float[] va, int j0, int j1, int heads, int d, int tk,
                            float scale, float[] p, float[] partial) {
        int c = heads * d;
        for (int j = j0; j < j1; j++) {
            kernels.headDots(qa, 0, ka, j * c, heads, d, scale, p, j, tk);
        }
        for (int h = 0; h < heads && j1 - j0 == tk; h++) {
            kernels.softmax(p, h * tk, tk);
        }
        Arrays.fill(partial, 0f);
        for (int j = j0; j < j1; j++) {
            kernels.headAxpys(p, j, tk, va, j * c, partial, 0, heads, d);
        }
    }

}
