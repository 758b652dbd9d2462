package dev.jformers.opencl;

import dev.jformers.core.Activation;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.LinearWeight;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;

import java.util.Locale;
import java.util.Random;

/**
 * A rough timing, run by hand (not a test): a 1024³ GEMM and a BERT-base-shaped forward
 * (12 layers, C 768, 12 heads, FFN 3072, random weights) on the OpenCL backend, with the CPU
 * backend in the same run for comparison. Numbers for docs/opencl.md.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp … dev.jformers.opencl.OpenClTiming [opencl:0] [tokens]</pre>
 */
public final class OpenClTiming {
    private OpenClTiming() {
    }

    public static void main(String[] args) {
        String spec = args.length > 0 ? args[0] : "opencl";
        int tokens = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        for (String name : new String[] {spec, "cpu"}) {
            try (Backend b = Backends.create(name)) {
                System.out.println(b.describe());
                gemm(b);
                bert(b, tokens);
            }
        }
    }

    static Tensor rand(Random r, int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * 0.05);
        }
        return Tensor.of(v, shape);
    }

    static void gemm(Backend b) {
        gemm(b, WeightLayout.OUT_IN);
    }

    static void gemm(Backend b, WeightLayout layout) {
        Random r = new Random(1);
        int n = 1024;
        Tensor x = b.upload(rand(r, n, n));
        LinearWeight w = b.prepareLinear(rand(r, n, n), null, layout);
        b.toHost(b.linear(x, w));                                   // warm-up (and kernel compile)
        int reps = 5;
        long t0 = System.nanoTime();
        Tensor y = null;
        for (int i = 0; i < reps; i++) {
            y = b.linear(x, w);
        }
        b.toHost(y.narrow(0, 0, 1));                                // wait for the queue
        double s = (System.nanoTime() - t0) / 1e9 / reps;
        System.out.printf(Locale.ROOT, "  1024^3 GEMM (linear, %s): %.1f ms, %.1f GFLOP/s%n", layout, s * 1e3, 2.0 * n * n * n / s / 1e9);
    }

    static void bert(Backend b, int tokens) {
        Random r = new Random(2);
        int c = 768, heads = 12, ffn = 3072, layers = 12;
        LinearWeight[][] w = new LinearWeight[layers][];
        Tensor[][] ln = new Tensor[layers][];
        for (int l = 0; l < layers; l++) {
            w[l] = new LinearWeight[] {
                b.prepareLinear(rand(r, c, c), rand(r, c), WeightLayout.OUT_IN),
                b.prepareLinear(rand(r, c, c), rand(r, c), WeightLayout.OUT_IN),
                b.prepareLinear(rand(r, c, c), rand(r, c), WeightLayout.OUT_IN),
                b.prepareLinear(rand(r, c, c), rand(r, c), WeightLayout.OUT_IN),
                b.prepareLinear(rand(r, ffn, c), rand(r, ffn), WeightLayout.OUT_IN),
                b.prepareLinear(rand(r, c, ffn), rand(r, c), WeightLayout.OUT_IN)};
            ln[l] = new Tensor[] {b.upload(rand(r, c)), b.upload(rand(r, c)), b.upload(rand(r, c)), b.upload(rand(r, c))};
        }
        Tensor input = b.upload(rand(r, 1, tokens, c));
        float scale = (float) (1 / Math.sqrt(c / (double) heads));
        for (int rep = 0; rep < 4; rep++) {
            long t0 = System.nanoTime();
            Tensor x = input;
            for (int l = 0; l < layers; l++) {
                Tensor q = b.linear(x, w[l][0]), k = b.linear(x, w[l][1]), v = b.linear(x, w[l][2]);
                Tensor a = b.attention(q, k, v, heads, AttentionMask.NONE, scale, false).context();
                a = b.layerNorm(b.add(b.linear(a, w[l][3]), x), ln[l][0], ln[l][1], 1e-12f);
                Tensor h = b.activation(b.linear(a, w[l][4]), Activation.GELU);
                x = b.layerNorm(b.add(b.linear(h, w[l][5]), a), ln[l][2], ln[l][3], 1e-12f);
            }
            b.toHost(x);
            if (rep > 0) {
                System.out.printf(Locale.ROOT, "  BERT-base-shaped forward b1 x s%d: %.0f ms%n", tokens,
                        (System.nanoTime() - t0) / 1e6);
            }
        }
    }
}
