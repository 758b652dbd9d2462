package dev.jformers.cpu;

import dev.jformers.core.Activation;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.AttentionOutput;
import dev.jformers.core.DType;
import dev.jformers.core.LinearWeight;
import dev.jformers.core.MathFunctions;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;

import java.lang.foreign.MemorySegment;

import static dev.jformers.cpu.HostTensors.F32;

/**
 * The reference backend: every operation as the textbook writes it, one element at a time,
 * accumulating in double. Slow on purpose; read it to learn what each operation computes, and
 * test every faster backend against it.
 */
public final class ScalarBackend extends CpuBackend {

    /** Same value as PyTorch's {@code torch.finfo(torch.float32).min}, the masked-score value HF uses. */
    static final float MASKED = -Float.MAX_VALUE;

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public String describe() {
        return "scalar (reference loops, 1 thread)";
    }

    record ScalarLinear(Tensor weight, Tensor bias, WeightLayout layout, int inFeatures, int outFeatures)
            implements LinearWeight {
    }

    @Override
    public LinearWeight prepareLinear(Tensor weight, Tensor bias, WeightLayout layout) {
        if (weight.rank() != 2) {
            throw ShapeException.of("linear", "a 2-d weight", weight.shape());
        }
        int in = layout == WeightLayout.OUT_IN ? weight.dim(1) : weight.dim(0);
        int out = layout == WeightLayout.OUT_IN ? weight.dim(0) : weight.dim(1);
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != out)) {
            throw ShapeException.mismatch("linear", weight.shape(), bias.shape(), "bias must be [" + out + "]");
        }
        // Copies on the heap: the checkpoint the weight was read from is unmapped once the model is built.
        return new ScalarLinear(HostTensors.contiguousOnHeap(weight), bias == null ? null : HostTensors.onHeap(bias),
                layout, in, out);
    }

    /** y[r, o] = b[o] + Σ_i x[r, i] · W[o, i]. */
    @Override
    public Tensor linear(Tensor x, LinearWeight lw) {
        ScalarLinear w = (ScalarLinear) lw;
        if (x.rank() == 0 || x.dim(-1) != w.inFeatures()) {
            throw ShapeException.of("linear", "[..., " + w.inFeatures() + "]", x.shape());
        }
        Tensor xc = x.toF32();
        int in = w.inFeatures(), out = w.outFeatures();
        long rows = HostTensors.rows(xc);
        int[] outShape = x.shape();
        outShape[outShape.length - 1] = out;
        Tensor y = Tensor.zeros(DType.F32, outShape);
        MemorySegment xs = xc.segment(), ws = w.weight().segment(), ys = y.segment();
        long xo = xc.offset(), wo = w.weight().offset();
        for (long r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double sum = w.bias() == null ? 0 : w.bias().segment().getAtIndex(F32, w.bias().offset() + o);
                for (int i = 0; i < in; i++) {
                    long wi = w.layout() == WeightLayout.OUT_IN ? (long) o * in + i : (long) i * out + o;
                    sum += xs.getAtIndex(F32, xo + r * in + i) * (double) ws.getAtIndex(F32, wo + wi);
                }
                ys.setAtIndex(F32, r * out + o, (float) sum);
            }
        }
        return y;
    }

    /** c[b, m, n] = Σ_k a[b, m, k] · b[b, k, n]. */
    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        int[] d = matmulDims(a, b);
        int batch = d[0], m = d[1], k = d[2], n = d[3];
        boolean bBatched = d[4] == 1;
        Tensor ac = a.toF32(), bc = b.toF32();
        Tensor c = Tensor.zeros(DType.F32, matmulOutShape(a, n));
        MemorySegment as = ac.segment(), bs = bc.segment(), cs = c.segment();
        for (int p = 0; p < batch; p++) {
            long aBase = ac.offset() + (long) p * m * k;
            long bBase = bc.offset() + (bBatched ? (long) p * k * n : 0);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int t = 0; t < k; t++) {
                        sum += as.getAtIndex(F32, aBase + (long) i * k + t) * (double) bs.getAtIndex(F32, bBase + (long) t * n + j);
                    }
                    cs.setAtIndex(F32, ((long) p * m + i) * n + j, (float) sum);
                }
            }
        }
        return c;
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        checkBroadcast("add", a, b);
        Tensor ac = a.toF32(), bc = b.toF32();
        Tensor c = Tensor.zeros(DType.F32, a.shape());
        long n = ac.numel(), period = Math.max(1, bc.numel());
        for (long i = 0; i < n; i++) {
            float sum = ac.segment().getAtIndex(F32, ac.offset() + i) + bc.segment().getAtIndex(F32, bc.offset() + i % period);
            c.segment().setAtIndex(F32, i, sum);
        }
        return c;
    }

    /** Per row: mean μ, biased variance σ², y = (x − μ)/√(σ² + eps)·γ + β. */
    @Override
    public Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, float eps) {
        int c = x.dim(-1);
        if (weight.numel() != c || bias.numel() != c) {
            throw ShapeException.mismatch("layerNorm", x.shape(), weight.shape(), "weight and bias must be [" + c + "]");
        }
        Tensor xc = x.toF32();
        float[] g = weight.toFloatArray(), bta = bias.toFloatArray();
        Tensor y = Tensor.zeros(DType.F32, x.shape());
        MemorySegment xs = xc.segment(), ys = y.segment();
        long rows = HostTensors.rows(xc);
        for (long r = 0; r < rows; r++) {
            long base = xc.offset() + r * c;
            double mean = 0;
            for (int i = 0; i < c; i++) {
                mean += xs.getAtIndex(F32, base + i);
            }
            mean /= c;
            double var = 0;
            for (int i = 0; i < c; i++) {
                double dev = xs.getAtIndex(F32, base + i) - mean;
                var += dev * dev;
            }
            var /= c;
            double inv = 1.0 / Math.sqrt(var + eps);
            for (int i = 0; i < c; i++) {
                double norm = (xs.getAtIndex(F32, base + i) - mean) * inv;
                ys.setAtIndex(F32, r * c + i, (float) (norm * g[i] + bta[i]));
            }
        }
        return y;
    }

    @Override
    public Tensor activation(Tensor x, Activation activation) {
        Tensor xc = x.toF32();
        Tensor y = Tensor.zeros(DType.F32, x.shape());
        for (long i = 0, n = xc.numel(); i < n; i++) {
            double v = xc.segment().getAtIndex(F32, xc.offset() + i);
            double r = switch (activation) {
                case GELU -> MathFunctions.gelu(v);
                case GELU_TANH -> MathFunctions.geluTanh(v);
                case RELU -> Math.max(0, v);
                case TANH -> Math.tanh(v);
                case SILU -> MathFunctions.silu(v);
            };
            y.segment().setAtIndex(F32, i, (float) r);
        }
        return y;
    }

    /** Per row: exp(x − max) / Σ exp(x − max). */
    @Override
    public Tensor softmax(Tensor x) {
        Tensor xc = x.toF32();
        int c = x.dim(-1);
        Tensor y = Tensor.zeros(DType.F32, x.shape());
        float[] row = new float[c];
        for (long r = 0, rows = HostTensors.rows(xc); r < rows; r++) {
            MemorySegment.copy(xc.segment(), F32, (xc.offset() + r * c) * 4, row, 0, c);
            softmaxInPlace(row, c);
            MemorySegment.copy(row, 0, y.segment(), F32, r * c * 4, c);
        }
        return y;
    }

    /** Softmax of row[0..n); a row whose every score is −∞ becomes all zeros instead of NaN. */
    static void softmaxInPlace(float[] row, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, row[j]);
        }
        if (max == Float.NEGATIVE_INFINITY) {
            java.util.Arrays.fill(row, 0, n, 0f);
            return;
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            double e = Math.exp(row[j] - max);
            row[j] = (float) e;
            sum += e;
        }
        for (int j = 0; j < n; j++) {
            row[j] = (float) (row[j] / sum);
        }
    }

    /**
     * For each batch b, head h and query i: scores s[j] = (q_i · k_j)·scale over the head's d
     * channels, masked, p = softmax(s), context_i = Σ_j p[j]·v_j.
     */
    @Override
    public AttentionOutput attention(Tensor q, Tensor k, Tensor v, int heads, AttentionMask mask, float scale,
                                     boolean returnProbs) {
        checkAttention(q, k, v, heads);
        int batch = q.dim(0), tq = q.dim(1), tk = k.dim(1), channels = q.dim(2), d = channels / heads;
        float[] pad = paddingMask(mask.keyPadding(), batch, tk);
        Tensor context = Tensor.zeros(DType.F32, batch, tq, channels);
        Tensor probs = returnProbs ? Tensor.zeros(DType.F32, batch, heads, tq, tk) : null;
        MemorySegment qs = q.segment(), ks = k.segment(), vs = v.segment(), cs = context.segment();
        float[] p = new float[tk];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < tq; i++) {
                    long qRow = q.offset() + b * q.stride(0) + i * q.stride(1) + (long) h * d;
                    for (int j = 0; j < tk; j++) {
                        long kRow = k.offset() + b * k.stride(0) + j * k.stride(1) + (long) h * d;
                        double dot = 0;
                        for (int t = 0; t < d; t++) {
                            dot += qs.getAtIndex(F32, qRow + t) * (double) ks.getAtIndex(F32, kRow + t);
                        }
                        float s = (float) dot * scale;
                        if (mask.causal() && j > tk - tq + i) {
                            s = MASKED;
                        }
                        if (pad != null && pad[b * tk + j] == 0f) {
                            s += MASKED;
                        }
                        p[j] = s;
                    }
                    softmaxInPlace(p, tk);
                    for (int t = 0; t < d; t++) {
                        double sum = 0;
                        for (int j = 0; j < tk; j++) {
                            long vRow = v.offset() + b * v.stride(0) + j * v.stride(1) + (long) h * d;
                            sum += p[j] * (double) vs.getAtIndex(F32, vRow + t);
                        }
                        cs.setAtIndex(F32, ((long) b * tq + i) * channels + (long) h * d + t, (float) sum);
                    }
                    if (probs != null) {
                        MemorySegment.copy(p, 0, probs.segment(), F32, ((((long) b * heads + h) * tq + i) * tk) * 4, tk);
                    }
                }
            }
        }
        return new AttentionOutput(context, probs);
    }
}
