package dev.jformers.benchmarks.models;

import java.util.SplittableRandom;

/**
 * The arithmetic behind the report: FLOPs of one encoder forward, weight bytes streamed per decoded
 * token, this machine's nominal peaks, and the deterministic inputs every benchmark feeds both engines.
 */
public final class ModelShapes {
    /** Nominal FP32 FMA peak of the reference machine (2-core AMD EPYC, AVX-512), GFLOP/s on 1 and 2 cores. */
    public static final double[] PEAK_GFLOPS = {0, 287, 570};
    /** Nominal memory bandwidth, GB/s on 1 and 2 cores (docs: 40-43 / 47-85 GB/s). */
    public static final double[] PEAK_GBS = {0, 43, 85};

    /** An encoder's shape: layers, hidden size, intermediate size. */
    public record Encoder(String name, int layers, int hidden, int intermediate) {
        /** Weights of the matrix products in one layer: q, k, v, attention output, and the two FFN matrices. */
        long matmulParams() {
            return (long) layers * (4L * hidden * hidden + 2L * hidden * intermediate);
        }

        /** FLOPs of one forward: 2·params·tokens + attention (q·kᵀ and p·v) 4·L·B·T²·C. */
        public double flops(int batch, int seq) {
            return 2.0 * matmulParams() * batch * seq + 4.0 * layers * batch * (double) seq * seq * hidden;
        }
    }

    public static final Encoder MINILM = new Encoder("all-MiniLM-L6-v2", 6, 384, 1536);
    public static final Encoder E5_SMALL = new Encoder("e5-small-v2", 12, 384, 1536);
    public static final Encoder BERT_BASE = new Encoder("bert-base-uncased", 12, 768, 3072);

    /** The encoder a model id names, or the profilers' short names: minilm, e5, bert. */
    public static Encoder encoder(String model) {
        return switch (model) {
            case "all-MiniLM-L6-v2", "minilm", "sentence-transformers/all-MiniLM-L6-v2" -> MINILM;
            case "e5-small-v2", "e5", "intfloat/e5-small-v2" -> E5_SMALL;
            case "bert-base-uncased", "bert", "google-bert/bert-base-uncased" -> BERT_BASE;
            default -> throw new IllegalArgumentException("unknown model " + model + " (minilm, e5, bert or their model ids)");
        };
    }

    /** GPT-2 124M: 12 layers, 768 wide, vocabulary 50257, 1024 positions. */
    public static final int GPT2_LAYERS = 12, GPT2_HIDDEN = 768, GPT2_VOCAB = 50257, GPT2_POSITIONS = 1024, GPT2_HEADS = 12;
    public static final int GPT2_PROMPT = 32, GPT2_NEW_TOKENS = 128;

    /**
     * Bytes of weights one decoding step must read (fp32): the matrices of every block (c_attn, c_proj,
     * c_fc, mlp.c_proj) and the tied lm_head [V, C]. Embedding rows, biases and LayerNorms are negligible.
     */
    public static double gpt2WeightBytesPerToken() {
        return gpt2WeightBytesPerToken("f32");
    }

    /**
     * {@link #gpt2WeightBytesPerToken()} with the weights kept as {@code jformers.cpu.weights} says: f32 4 bytes a
     * weight, bf16 2, int8 1 plus a 2-byte scale per 32 weights (see {@link #bytesPerWeight}).
     */
    public static double gpt2WeightBytesPerToken(String weights) {
        long c = GPT2_HIDDEN;
        long perLayer = c * 3 * c + c * c + c * 4 * c + 4 * c * c;
        return bytesPerWeight(weights) * (GPT2_LAYERS * perLayer + (long) GPT2_VOCAB * c);
    }

    /**
     * Bytes a linear layer's weight takes as {@code jformers.cpu.weights} keeps it: f32 4, bf16 2, int8 1 + a 2-byte
     * scale per 32 — with 512-bit vectors, as the benchmarks run on this machine; at 256 bits int8 takes 1.083, at
     * 128 bits 1.125 (SimdBackend's Javadoc).
     */
    public static double bytesPerWeight(String weights) {
        return switch (weights) {
            case "f32" -> 4;
            case "bf16" -> 2;
            case "int8" -> 1 + 2.0 / 32;
            default -> throw new IllegalArgumentException("f32, bf16 or int8, not " + weights);
        };
    }

    /** "8x128" → {8, 128}. */
    public static int[] batchSeq(String shape) {
        String[] p = shape.split("x");
        return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1])};
    }

    /** Token ids of a plausible BERT input: [CLS] random word pieces [SEP], the same for a given shape. */
    public static long[][] bertIds(int batch, int seq) {
        SplittableRandom r = new SplittableRandom(42L * batch + seq);
        long[][] ids = new long[batch][seq];
        for (long[] row : ids) {
            for (int t = 0; t < seq; t++) {
                row[t] = r.nextInt(1996, 29612);   // ordinary word pieces of the uncased vocabulary
            }
            row[0] = 101;
            row[seq - 1] = 102;
        }
        return ids;
    }

    public static long[][] ones(int batch, int seq) {
        long[][] m = new long[batch][seq];
        for (long[] row : m) {
            java.util.Arrays.fill(row, 1);
        }
        return m;
    }

    public static long[][] zeros(int batch, int seq) {
        return new long[batch][seq];
    }

    /** A 32-token GPT-2 prompt (random ids, fixed seed). */
    public static long[] gpt2Prompt() {
        SplittableRandom r = new SplittableRandom(7);
        long[] p = new long[GPT2_PROMPT];
        for (int i = 0; i < p.length; i++) {
            p[i] = r.nextInt(GPT2_VOCAB);
        }
        return p;
    }

    /** Largest |a − b| over two equally long arrays. */
    public static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalStateException("outputs differ in size: " + a.length + " vs " + b.length);
        }
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            if (!(d <= max)) {   // NaN counts as infinitely different
                max = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
            }
        }
        return max;
    }

    private ModelShapes() {
    }
}
