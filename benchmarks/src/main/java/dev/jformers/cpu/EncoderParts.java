package dev.jformers.cpu;

import dev.jformers.benchmarks.Machine;
import dev.jformers.core.Activation;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

import static dev.jformers.cpu.BackwardGemmParts.cpu;
import static dev.jformers.cpu.BackwardGemmParts.random;

/**
 * Where an encoder layer's time goes on 1 thread, each part against the FMA peak measured in the same process: the four
 * GEMMs alone (each layer's own weights, streamed from memory as a model's are, and one layer's weights over and over,
 * in cache), the same products with their epilogues as a model calls them (linear + GELU, linear + residual +
 * LayerNorm), the attention, and the whole layer's five calls in a row (random weights of the model's shapes; part 16:
 * the same with the bias copied into Y before the tiles, {@code biasInTiles} off, for an A/B in one process). CPU time
 * of the calling thread, parts interleaved round after round, the minimum per part: fit for a loaded machine.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -XX:+UseTransparentHugePages -cp benchmarks.jar
 * dev.jformers.cpu.EncoderParts [minilm|bert] [seq] [rounds] [layers]} (minilm: C 384, FFN 1536, 12 heads; bert: C 768,
 * FFN 3072, 12 heads; e5-small-v2 has MiniLM's layer); {@code -Djformers.bench.parts=0,10,16} runs only those parts
 * (0 is the peak, needed for the % column)
 */
public final class EncoderParts {
    private EncoderParts() {
    }

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    public static void main(String[] args) {
        System.out.println(Machine.describe());
        String model = args.length > 0 ? args[0] : "minilm";
        int t = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 7;
        boolean bert = model.equals("bert");
        int c = bert ? 768 : 384, f = 4 * c, heads = 12, d = c / heads;
        int layers = args.length > 3 ? Integer.parseInt(args[3]) : bert ? 12 : 6;
        SplittableRandom rnd = new SplittableRandom(3);
        try (SimdBackend backend = new SimdBackend(1, 0)) {
            int[][] shapes = {{c, 3 * c}, {c, c}, {c, f}, {f, c}};   // K, N: QKV, attention output, FFN in, FFN out
            String[] gemmNames = {"QKV", "attn out", "FFN in", "FFN out"};
            PackedLinear[][] w = new PackedLinear[layers][4];
            for (PackedLinear[] layer : w) {
                for (int g = 0; g < 4; g++) {
                    layer[g] = (PackedLinear) backend.prepareLinear(Tensor.of(random(rnd, shapes[g][0] * shapes[g][1]), shapes[g][1], shapes[g][0]),
                            Tensor.of(random(rnd, shapes[g][1]), shapes[g][1]), WeightLayout.OUT_IN);
                }
            }
            Tensor x = Tensor.of(random(rnd, t * c), 1, t, c), h = Tensor.of(random(rnd, t * f), 1, t, f);
            Tensor qkv = Tensor.of(random(rnd, t * 3 * c), 1, t, 3 * c);
            Tensor gamma = Tensor.of(random(rnd, c), c), beta = Tensor.of(random(rnd, c), c);
            Tensor q = qkv.narrow(2, 0, c), k = qkv.narrow(2, c, c), v = qkv.narrow(2, 2 * c, c);
            float[][] in = {x.floatArray(), x.floatArray(), x.floatArray(), h.floatArray()};
            float[][] out = new float[4][];
            for (int g = 0; g < 4; g++) {
                out[g] = new float[t * shapes[g][1]];
            }
            float scale = (float) (1 / Math.sqrt(d));
            // parts: 0 peak; 1-4 GEMMs streamed (each layer's weights); 5-8 in cache (layer 0's); 9 linear+GELU cached,
            // 10 linear+add+LN (FFN out) cached, 11 linear+add+LN (attn out) cached, 12 attention, 13 layerNorm + add alone,
            // 14 GELU alone; 15 a whole layer (its five calls, each layer's weights); 16 the same with the bias copied
            // into Y before each GEMM's tiles (biasInTiles off: part 15's A/B in the same process)
            String[] names = new String[17];
            double[] flops = new double[17];
            names[0] = "FMA peak (12 chains)";
            flops[0] = 12.0 * 2 * S.length() * (1 << 16);
            for (int g = 0; g < 4; g++) {
                names[1 + g] = "GEMM " + gemmNames[g] + " " + t + "×" + shapes[g][0] + "×" + shapes[g][1] + ", streamed";
                names[5 + g] = "GEMM " + gemmNames[g] + " " + t + "×" + shapes[g][0] + "×" + shapes[g][1] + ", in cache";
                flops[1 + g] = flops[5 + g] = 2.0 * t * shapes[g][0] * shapes[g][1];
            }
            names[9] = "linear+GELU (FFN in), in cache";
            flops[9] = flops[7];
            names[10] = "linear+add+LayerNorm (FFN out), in cache";
            flops[10] = flops[8];
            names[11] = "linear+add+LayerNorm (attn out), in cache";
            flops[11] = flops[6];
            names[12] = "attention (" + heads + " heads, d " + d + ")";
            flops[12] = 4.0 * t * t * d * heads;
            names[13] = "addLayerNorm " + t + "×" + c + " alone";
            names[14] = "GELU " + t + "×" + f + " alone (activation call)";
            names[15] = "a whole layer (5 calls), streamed";
            flops[15] = flops[1] + flops[2] + flops[3] + flops[4] + flops[12];
            names[16] = "a whole layer, the bias copied into Y (biasInTiles off)";
            flops[16] = flops[15];
            long[] best = new long[names.length];
            Arrays.fill(best, Long.MAX_VALUE);
            float sink = 0;
            Tensor hf = Tensor.of(h.floatArray().clone(), 1, t, f);
            // -Djformers.bench.parts=0,13: only these parts (for a profiler; 0, the peak, is needed for the % column)
            String only = System.getProperty("jformers.bench.parts");
            boolean[] run = new boolean[names.length];
            Arrays.fill(run, true);
            if (only != null) {
                Arrays.fill(run, false);
                for (String i : only.split(",")) {
                    int part = Integer.parseInt(i.trim());
                    // (the old parts 16 and 17, LayerNorm row after row, went with normRowsInterleaved; 16 is now
                    // part 15 with the bias copied, #20x)
                    if (part < 0 || part >= names.length) {
                        throw new IllegalArgumentException("no part " + part + ": parts are 0-" + (names.length - 1));
                    }
                    run[part] = true;
                }
            }
            for (int round = 0; round < rounds + 2; round++) {
                for (int p = 0; p < names.length; p++) {
                    if (!run[p]) {
                        continue;
                    }
                    long c0 = cpu();
                    int reps = p >= 1 && p <= 4 || p >= 15 ? layers : 1;   // streamed: once over every layer
                    for (int l = 0; l < reps; l++) {
                        switch (p) {
                            case 0 -> sink += fma(1e-7f);
                            case 1, 2, 3, 4 -> backend.gemm(in[p - 1], 0, t, w[l][p - 1], out[p - 1], 0);
                            case 5, 6, 7, 8 -> backend.gemm(in[p - 5], 0, t, w[0][p - 5], out[p - 5], 0);
                            case 9 -> backend.recycle(backend.linear(x, w[0][2], Activation.GELU));
                            case 10 -> backend.recycle(backend.linearAddLayerNorm(h, w[0][3], 0f, x, gamma, beta, 1e-12f));
                            case 11 -> backend.recycle(backend.linearAddLayerNorm(x, w[0][1], 0f, x, gamma, beta, 1e-12f));
                            case 12 -> backend.recycle(backend.attention(q, k, v, heads, AttentionMask.NONE, scale, false).context());
                            case 13 -> backend.recycle(backend.addLayerNorm(x, x, gamma, beta, 1e-12f));
                            case 14 -> {
                                System.arraycopy(h.floatArray(), 0, hf.floatArray(), 0, t * f);
                                backend.recycle(backend.activation(hf, Activation.GELU));
                            }
                            case 15, 16 -> {   // a layer as BertLayer calls it
                                backend.biasInTiles = p == 15 && SimdBackend.BIAS_IN_TILES;
                                Tensor y = backend.linear(x, w[l][0]);
                                Tensor ctx = backend.attention(y.narrow(2, 0, c), y.narrow(2, c, c), y.narrow(2, 2 * c, c), heads,
                                        AttentionMask.NONE, scale, false).context();
                                Tensor a = backend.linearAddLayerNorm(ctx, w[l][1], 0f, x, gamma, beta, 1e-12f);
                                Tensor hh = backend.linear(a, w[l][2], Activation.GELU);
                                Tensor o = backend.linearAddLayerNorm(hh, w[l][3], 0f, a, gamma, beta, 1e-12f);
                                for (Tensor z : new Tensor[] {y, ctx, a, hh, o}) {
                                    backend.recycle(z);
                                }
                                backend.biasInTiles = SimdBackend.BIAS_IN_TILES;
                            }
                            default -> throw new IllegalStateException("part " + p);
                        }
                    }
                    long dt = (cpu() - c0) / reps;
                    if (round >= 2) {
                        best[p] = Math.min(best[p], dt);
                    }
                }
            }
            double peak = run[0] ? flops[0] / best[0] : Double.NaN;
            System.out.printf(Locale.ROOT, "%s b1×s%d, %d layers, %d rounds; 1 thread, CPU time, minimum per call; peak %.1f GFLOP/s (sink %s)%n",
                    model, t, layers, rounds, peak, sink == 0 ? "0" : "≠0");
            System.out.println("| part | µs a call | GFLOP/s | % of peak |");
            System.out.println("|---|---:|---:|---:|");
            for (int p = 1; p < names.length; p++) {
                if (!run[p]) {
                    continue;
                }
                double gf = flops[p] / best[p];
                System.out.printf(Locale.ROOT, "| %s | %.1f | %s | %s |%n", names[p], best[p] / 1e3,
                        flops[p] == 0 ? "" : String.format(Locale.ROOT, "%.1f", gf), flops[p] == 0 ? "" : String.format(Locale.ROOT, "%.1f%%", 100 * gf / peak));
            }
        }
    }

    /** The peak loop of PeakBenchmark: 12 independent FMA chains, 2^16 steps. */
    private static float fma(float b) {
        FloatVector a = FloatVector.broadcast(S, 0.999f), cc = FloatVector.broadcast(S, b);
        FloatVector v0 = FloatVector.broadcast(S, 1f), v1 = v0.add(1), v2 = v0.add(2), v3 = v0.add(3), v4 = v0.add(4), v5 = v0.add(5);
        FloatVector v6 = v0.add(6), v7 = v0.add(7), v8 = v0.add(8), v9 = v0.add(9), v10 = v0.add(10), v11 = v0.add(11);
        for (int i = 0; i < 1 << 16; i++) {
            v0 = v0.fma(a, cc); v1 = v1.fma(a, cc); v2 = v2.fma(a, cc); v3 = v3.fma(a, cc); v4 = v4.fma(a, cc); v5 = v5.fma(a, cc);
            v6 = v6.fma(a, cc); v7 = v7.fma(a, cc); v8 = v8.fma(a, cc); v9 = v9.fma(a, cc); v10 = v10.fma(a, cc); v11 = v11.fma(a, cc);
        }
        return v0.add(v1).add(v2).add(v3).add(v4).add(v5).add(v6).add(v7).add(v8).add(v9).add(v10).add(v11)
                .reduceLanes(VectorOperators.ADD);
    }
}
