package dev.jformers.cpu;

import dev.jformers.core.Activation;
import dev.jformers.core.DType;
import dev.jformers.core.JformersException;
import dev.jformers.core.MathFunctions;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static dev.jformers.cpu.HostTensors.F32;

/**
 * The backward of every operation, and the losses, written as plainly as the formulas (double
 * accumulation): the reference the fast kernels are checked against, and what a student reads to
 * see how a gradient flows. Inputs may be strided views; results are new contiguous tensors.
 * Shapes: N rows (B·T), C channels, h heads, d = C/h.
 */
final class TrainingKernels {
    private TrainingKernels() {
    }

    /** dst += src, element by element, whatever dst's strides. */
    static void accumulate(Tensor dst, Tensor src) {
        if (!Arrays.equals(dst.shape(), src.shape())) {
            throw ShapeException.mismatch("accumulate", dst.shape(), src.shape(), "shapes must be equal");
        }
        HostTensors.requireF32("accumulate", dst);
        float[] s = src.toFloatArray();
        int cols = dst.rank() == 0 ? 1 : dst.dim(-1);
        long colStride = dst.rank() == 0 ? 1 : dst.stride(-1);
        MemorySegment out = dst.segment();
        for (long r = 0, rows = HostTensors.rows(dst); r < rows; r++) {
            long base = HostTensors.rowOffset(dst, r);
            for (int c = 0; c < cols; c++) {
                long at = base + c * colStride;
                out.setAtIndex(F32, at, out.getAtIndex(F32, at) + s[(int) (r * cols + c)]);
            }
        }
    }

    /** a·b element by element. */
    static Tensor multiply(Tensor a, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw ShapeException.mismatch("multiply", a.shape(), b.shape(), "shapes must be equal");
        }
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        for (int i = 0; i < x.length; i++) {
            x[i] *= y[i];
        }
        return Tensor.of(x, a.shape());
    }

    /**
     * y = x·Wᵀ + b: dx = dy·W [N, in], dW += dyᵀ·x ([out, in]; Conv1D's [in, out] is its transpose),
     * db += Σ_rows dy.
     */
    static Tensor linearBackward(Tensor dy, Tensor x, Tensor weight, WeightLayout layout, Tensor dWeight,
                                 Tensor dBias, boolean inputGradient) {
        int out = dy.dim(-1), in = x.dim(-1);
        int n = (int) (dy.numel() / Math.max(1, out));
        float[] g = dy.toFloatArray(), xs = x.toFloatArray(), w = weight.toFloatArray();
        boolean outIn = layout == WeightLayout.OUT_IN;   // w[o, i] at o·in + i; Conv1D: w[i, o] at i·out + o
        Tensor dx = null;
        if (inputGradient) {
            float[] dxs = new float[n * in];
            for (int r = 0; r < n; r++) {
                for (int i = 0; i < in; i++) {
                    double sum = 0;
                    for (int o = 0; o < out; o++) {
                        sum += (double) g[r * out + o] * w[outIn ? o * in + i : i * out + o];
                    }
                    dxs[r * in + i] = (float) sum;
                }
            }
            int[] shape = x.shape();
            dx = Tensor.of(dxs, shape);
        }
        if (dWeight != null) {
            float[] dw = new float[out * in];
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) {
                    double sum = 0;
                    for (int r = 0; r < n; r++) {
                        sum += (double) g[r * out + o] * xs[r * in + i];
                    }
                    dw[outIn ? o * in + i : i * out + o] = (float) sum;
                }
            }
            accumulate(dWeight, Tensor.of(dw, dWeight.shape()));
        }
        if (dBias != null) {
            float[] db = new float[out];
            for (int o = 0; o < out; o++) {
                double sum = 0;
                for (int r = 0; r < n; r++) {
                    sum += g[r * out + o];
                }
                db[o] = (float) sum;
            }
            accumulate(dBias, Tensor.of(db, out));
        }
        return dx;
    }

    /**
     * y = x̂·γ + β with x̂ = (x − μ)·σ⁻¹: dβ += Σ dy, dγ += Σ dy·x̂, and per row
     * dx = σ⁻¹·(dy·γ − mean(dy·γ) − x̂·mean(dy·γ·x̂)).
     */
    static Tensor layerNormBackward(Tensor dy, Tensor x, Tensor weight, float eps, Tensor dWeight, Tensor dBias) {
        int c = x.dim(-1);
        int rows = (int) HostTensors.rows(x);
        float[] g = dy.toFloatArray(), xs = x.toFloatArray(), gamma = weight.toFloatArray();
        float[] dx = new float[xs.length];
        double[] dGamma = new double[c], dBeta = new double[c];
        double[] xHat = new double[c];
        for (int r = 0; r < rows; r++) {
            int base = r * c;
            double mean = 0;
            for (int i = 0; i < c; i++) {
                mean += xs[base + i];
            }
            mean /= c;
            double var = 0;
            for (int i = 0; i < c; i++) {
                double dev = xs[base + i] - mean;
                var += dev * dev;
            }
            var /= c;
            double inv = 1.0 / Math.sqrt(var + eps);
            double meanG = 0, meanGx = 0;
            for (int i = 0; i < c; i++) {
                xHat[i] = (xs[base + i] - mean) * inv;
                double gi = (double) g[base + i] * gamma[i];
                meanG += gi;
                meanGx += gi * xHat[i];
                dGamma[i] += g[base + i] * xHat[i];
                dBeta[i] += g[base + i];
            }
            meanG /= c;
            meanGx /= c;
            for (int i = 0; i < c; i++) {
                dx[base + i] = (float) (inv * ((double) g[base + i] * gamma[i] - meanG - xHat[i] * meanGx));
            }
        }
        if (dWeight != null) {
            accumulate(dWeight, Tensor.of(toFloats(dGamma), c));
        }
        if (dBias != null) {
            accumulate(dBias, Tensor.of(toFloats(dBeta), c));
        }
        return Tensor.of(dx, x.shape());
    }

    /** dy·act′(x). */
    static Tensor activationBackward(Tensor dy, Tensor x, Activation activation) {
        float[] g = dy.toFloatArray(), xs = x.toFloatArray(), dx = new float[xs.length];
        for (int i = 0; i < xs.length; i++) {
            dx[i] = (float) (g[i] * derivative(activation, xs[i]));
        }
        return Tensor.of(dx, x.shape());
    }

    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2 * Math.PI);
    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);

    /** The derivative of each activation at x. */
    static double derivative(Activation activation, double x) {
        return switch (activation) {
            // GELU = x·Φ(x): Φ(x) + x·φ(x)
            case GELU -> 0.5 * (1 + MathFunctions.erf(x / Math.sqrt(2))) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
            // 0.5·x·(1 + tanh(u)), u = √(2/π)(x + 0.044715x³)
            case GELU_TANH -> {
                double u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
                double t = Math.tanh(u);
                yield 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
            }
            case RELU -> x > 0 ? 1 : 0;
            case TANH -> {
                double t = Math.tanh(x);
                yield 1 - t * t;
            }
            case SILU -> {
                double s = 1 / (1 + Math.exp(-x));
                yield s * (1 + x * (1 - s));
            }
        };
    }

    /** From the output y of a softmax over the last dimension: dx = y·(dy − Σ dy·y). */
    static Tensor softmaxBackward(Tensor dy, Tensor y) {
        int c = y.dim(-1);
        float[] g = dy.toFloatArray(), ys = y.toFloatArray(), dx = new float[ys.length];
        for (int base = 0; base < ys.length; base += c) {
            double dot = 0;
            for (int j = 0; j < c; j++) {
                dot += (double) g[base + j] * ys[base + j];
            }
            for (int j = 0; j < c; j++) {
                dx[base + j] = (float) (ys[base + j] * (g[base + j] - dot));
            }
        }
        return Tensor.of(dx, y.shape());
    }

    /**
     * Per batch b and head h, with P = probs [Tq, Tk] and S = scale·Q·Kᵀ:
     * dV = Pᵀ·dC, dP = dC·Vᵀ, dS = P·(dP − rowsum(dP·P)), dQ = scale·dS·K, dK = scale·dSᵀ·Q.
     */
    static Tensor[] attentionBackward(Tensor dContext, Tensor q, Tensor k, Tensor v, Tensor probs, Tensor keep,
                                      int heads, float scale) {
        int batch = q.dim(0), tq = q.dim(1), tk = k.dim(1), channels = q.dim(2), d = channels / heads;
        float[] dc = dContext.toFloatArray(), qs = q.toFloatArray(), ks = k.toFloatArray(), vs = v.toFloatArray();
        float[] p = probs.toFloatArray(), m = keep == null ? null : keep.toFloatArray();
        float[] dq = new float[qs.length], dk = new float[ks.length], dv = new float[vs.length];
        double[] dS = new double[tk];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < tq; i++) {
                    int pRow = ((b * heads + h) * tq + i) * tk;
                    int cRow = (b * tq + i) * channels + h * d;
                    double rowDot = 0;
                    for (int j = 0; j < tk; j++) {
                        int vRow = (b * tk + j) * channels + h * d;
                        float kept = m == null ? 1f : m[pRow + j];   // dropout: context = (P·keep)·V
                        double dP = 0;
                        for (int t = 0; t < d; t++) {
                            dP += (double) dc[cRow + t] * vs[vRow + t];
                            dv[vRow + t] += p[pRow + j] * kept * dc[cRow + t];
                        }
                        dS[j] = dP * kept;
                        rowDot += dS[j] * p[pRow + j];
                    }
                    for (int j = 0; j < tk; j++) {
                        dS[j] = p[pRow + j] * (dS[j] - rowDot) * scale;
                        int kRow = (b * tk + j) * channels + h * d;
                        for (int t = 0; t < d; t++) {
                            dq[cRow + t] += (float) (dS[j] * ks[kRow + t]);
                            dk[kRow + t] += (float) (dS[j] * qs[cRow + t]);
                        }
                    }
                }
            }
        }
        return new Tensor[] {Tensor.of(dq, batch, tq, channels), Tensor.of(dk, batch, tk, channels),
                Tensor.of(dv, batch, tk, channels)};
    }

    /** dTable[ids[i]] += dy[i] for every id other than paddingIdx. */
    static void embeddingBackward(Tensor dy, Tensor ids, Tensor dTable, int paddingIdx) {
        int c = dTable.dim(1);
        long[] idx = ids.toLongArray();
        float[] g = dy.toFloatArray();
        float[] sum = new float[dTable.dim(0) * c];
        boolean[] touched = new boolean[dTable.dim(0)];
        for (int i = 0; i < idx.length; i++) {
            int row = (int) idx[i];
            if (row == paddingIdx) {
                continue;
            }
            touched[row] = true;
            for (int j = 0; j < c; j++) {
                sum[row * c + j] += g[i * c + j];
            }
        }
        for (int row = 0; row < touched.length; row++) {
            if (touched[row]) {
                accumulate(dTable.select(0, row), Tensor.of(Arrays.copyOfRange(sum, row * c, row * c + c), c));
            }
        }
    }

    /** dx [n, C] with dx[rows[i]] += dy[i]. */
    static Tensor gatherRowsBackward(Tensor dy, long[] rows, int n) {
        int c = dy.dim(1);
        float[] g = dy.toFloatArray(), dx = new float[n * c];
        for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < c; j++) {
                dx[(int) rows[i] * c + j] += g[i * c + j];
            }
        }
        return Tensor.of(dx, n, c);
    }

    /** The rows of logits [N, C] as one contiguous float[]. */
    private static float[] rows2d(Tensor logits) {
        if (logits.rank() != 2) {
            throw ShapeException.of("crossEntropy", "logits [rows, classes]", logits.shape());
        }
        return logits.toFloatArray();
    }

    /** Class ids as ints, checked against the class count (ignoreIndex allowed). */
    static long[] labels(Tensor labels, int rows, int classes, int ignoreIndex) {
        long[] y = labels.toLongArray();
        if (y.length != rows) {
            throw new ShapeException("crossEntropy: " + y.length + " labels for " + rows + " rows of logits");
        }
        for (long l : y) {
            if (l != ignoreIndex && (l < 0 || l >= classes)) {
                throw new JformersException("label " + l + " is outside [0, " + classes + ") (use " + ignoreIndex
                        + " to ignore a position)");
            }
        }
        return y;
    }

    /** Mean over kept rows of logsumexp(row) − row[label]. */
    static Tensor crossEntropy(Tensor logits, Tensor labelIds, int ignoreIndex) {
        int rows = logits.dim(0), classes = logits.dim(1);
        float[] z = rows2d(logits);
        long[] y = labels(labelIds, rows, classes, ignoreIndex);
        double total = 0;
        int kept = 0;
        for (int r = 0; r < rows; r++) {
            if (y[r] == ignoreIndex) {
                continue;
            }
            total += logSumExp(z, r * classes, classes) - z[r * classes + (int) y[r]];
            kept++;
        }
        return scalar((float) (total / kept));
    }

    static Tensor crossEntropyBackward(Tensor logits, Tensor labelIds, int ignoreIndex, float gradOutput) {
        int rows = logits.dim(0), classes = logits.dim(1);
        float[] z = rows2d(logits), dz = new float[z.length];
        long[] y = labels(labelIds, rows, classes, ignoreIndex);
        int kept = 0;
        for (long l : y) {
            kept += l == ignoreIndex ? 0 : 1;
        }
        for (int r = 0; r < rows; r++) {
            if (y[r] == ignoreIndex) {
                continue;
            }
            int base = r * classes;
            double lse = logSumExp(z, base, classes);
            for (int j = 0; j < classes; j++) {
                double softmax = Math.exp(z[base + j] - lse);
                dz[base + j] = (float) ((softmax - (j == y[r] ? 1 : 0)) * gradOutput / kept);
            }
        }
        return Tensor.of(dz, rows, classes);
    }

    private static double logSumExp(float[] z, int base, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, z[base + j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            sum += Math.exp(z[base + j] - max);
        }
        return max + Math.log(sum);
    }

    static Tensor mseLoss(Tensor input, Tensor target) {
        float[] x = input.toFloatArray(), t = target.toF32().toFloatArray();
        requireSameCount("mseLoss", x, t);
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            double e = (double) x[i] - t[i];
            sum += e * e;
        }
        return scalar((float) (sum / x.length));
    }

    static Tensor mseLossBackward(Tensor input, Tensor target, float gradOutput) {
        float[] x = input.toFloatArray(), t = target.toF32().toFloatArray(), dx = new float[x.length];
        requireSameCount("mseLoss", x, t);
        for (int i = 0; i < x.length; i++) {
            dx[i] = (float) (2.0 * ((double) x[i] - t[i]) * gradOutput / x.length);
        }
        return Tensor.of(dx, input.shape());
    }

    /** max(x, 0) − x·t + log(1 + e^(−|x|)), the form that never overflows. */
    static Tensor bceWithLogitsLoss(Tensor logits, Tensor target) {
        float[] x = logits.toFloatArray(), t = target.toF32().toFloatArray();
        requireSameCount("bceWithLogitsLoss", x, t);
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            sum += Math.max(x[i], 0) - (double) x[i] * t[i] + Math.log1p(Math.exp(-Math.abs(x[i])));
        }
        return scalar((float) (sum / x.length));
    }

    static Tensor bceWithLogitsLossBackward(Tensor logits, Tensor target, float gradOutput) {
        float[] x = logits.toFloatArray(), t = target.toF32().toFloatArray(), dx = new float[x.length];
        requireSameCount("bceWithLogitsLoss", x, t);
        for (int i = 0; i < x.length; i++) {
            double sigmoid = 1 / (1 + Math.exp(-x[i]));
            dx[i] = (float) ((sigmoid - t[i]) * gradOutput / x.length);
        }
        return Tensor.of(dx, logits.shape());
    }

    private static void requireSameCount(String op, float[] a, float[] b) {
        if (a.length != b.length) {
            throw new ShapeException(op + ": " + a.length + " predictions for " + b.length + " targets");
        }
    }

    static Tensor scalar(float v) {
        Tensor t = Tensor.zeros(DType.F32);
        t.segment().setAtIndex(F32, 0, v);
        return t;
    }

    private static float[] toFloats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }
}
