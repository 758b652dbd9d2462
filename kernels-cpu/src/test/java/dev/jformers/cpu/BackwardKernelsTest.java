package dev.jformers.cpu;

import dev.jformers.core.Activation;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.Backend;
import dev.jformers.core.MathFunctions;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

import static dev.jformers.cpu.TestTensors.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every backward kernel of both CPU backends against central finite differences of the forward written
 * out in float64 (so the differences are exact to ~1e-10 and any error is the kernel's), on small random
 * shapes with odd sizes (19, 37: whole vectors and tails at every width), padded and causal masks, views.
 * Each loss is L = Σ R ⊙ f(x) for a random R, which makes R the dy handed to the backward.
 *
 * <p>Tolerance: |kernel − FD| ≤ 3e-5 + 3e-4·|FD| — the kernels take float32 inputs and accumulate sums of
 * at most a few hundred terms in float (SIMD) or double (reference).
 */
class BackwardKernelsTest {
    static final List<Backend> BACKENDS = new ArrayList<>();

    static {
        BACKENDS.add(new ScalarBackend());
        BACKENDS.add(new SimdBackend(1, 512));
        BACKENDS.add(new SimdBackend(2, 256));
        BACKENDS.add(new SimdBackend(2, 128));
        BACKENDS.add(new SimdBackend(1, SimdBackend.SCALAR_BITS));
    }

    static List<Backend> backends() {
        return BACKENDS;
    }

    @AfterAll
    static void closeAll() {
        BACKENDS.forEach(Backend::close);
    }

    static final double H = 1e-6;
    static final double ATOL = 3e-5, RTOL = 3e-4;

    // ---------------------------------------------------------------- finite differences

    /** Central differences of f with respect to every element of p (f reads p, which is perturbed in place). */
    static double[] fd(double[] p, ToDoubleFunction<double[]> f) {
        double[] g = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            double keep = p[i];
            p[i] = keep + H;
            double plus = f.applyAsDouble(p);
            p[i] = keep - H;
            double minus = f.applyAsDouble(p);
            p[i] = keep;
            g[i] = (plus - minus) / (2 * H);
        }
        return g;
    }

    static void assertGrad(double[] expected, Tensor actual, String what) {
        float[] a = actual.contiguous().toFloatArray();
        assertEquals(expected.length, a.length, what + ": element count");
        for (int i = 0; i < a.length; i++) {
            if (!(Math.abs(expected[i] - a[i]) <= ATOL + RTOL * Math.abs(expected[i]))) {
                fail(what + ": element " + i + " expected " + expected[i] + " but was " + a[i]);
            }
        }
    }

    static double[] d(Tensor t) {
        float[] f = t.contiguous().toFloatArray();
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = f[i];
        }
        return out;
    }

    static double dotR(double[] r, double[] y) {
        double s = 0;
        for (int i = 0; i < r.length; i++) {
            s += r[i] * y[i];
        }
        return s;
    }

    // ---------------------------------------------------------------- float64 forwards

    /** y[n, o] = Σ_i x[n, i]·W + b[o], W [out, in] (OUT_IN) or [in, out] (Conv1D). */
    static double[] linear(double[] x, double[] w, double[] b, int n, int in, int out, boolean outIn) {
        double[] y = new double[n * out];
        for (int r = 0; r < n; r++) {
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int i = 0; i < in; i++) {
                    s += x[r * in + i] * w[outIn ? o * in + i : i * out + o];
                }
                y[r * out + o] = s;
            }
        }
        return y;
    }

    static double[] layerNorm(double[] x, double[] gamma, double[] beta, int c, double eps) {
        double[] y = new double[x.length];
        for (int base = 0; base < x.length; base += c) {
            double mean = 0, var = 0;
            for (int i = 0; i < c; i++) {
                mean += x[base + i];
            }
            mean /= c;
            for (int i = 0; i < c; i++) {
                var += (x[base + i] - mean) * (x[base + i] - mean);
            }
            double inv = 1 / Math.sqrt(var / c + eps);
            for (int i = 0; i < c; i++) {
                y[base + i] = (x[base + i] - mean) * inv * gamma[i] + beta[i];
            }
        }
        return y;
    }

    static double act(double x, Activation a) {
        return switch (a) {
            case GELU -> 0.5 * x * (1 + MathFunctions.erf(x / Math.sqrt(2)));
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case RELU -> Math.max(0, x);
            case TANH -> Math.tanh(x);
            case SILU -> x / (1 + Math.exp(-x));
        };
    }

    static void softmaxInPlace(double[] s, int off, int n, boolean[] keep) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            if (keep[j]) {
                max = Math.max(max, s[off + j]);
            }
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            s[off + j] = keep[j] ? Math.exp(s[off + j] - max) : 0;
            sum += s[off + j];
        }
        for (int j = 0; j < n; j++) {
            s[off + j] /= sum;
        }
    }

    /** context [B, Tq, C] of attention over heads, masked keys (padding, causal) taking no weight. */
    static double[] attention(double[] q, double[] k, double[] v, int batch, int tq, int tk, int heads, int d,
                              double scale, float[] pad, boolean causal) {
        return attention(q, k, v, batch, tq, tk, heads, d, scale, pad, causal, null);
    }

    /** {@link #attention} with dropout: the probabilities [B, h, Tq, Tk] times {@code dropout} before the product with V. */
    static double[] attention(double[] q, double[] k, double[] v, int batch, int tq, int tk, int heads, int d,
                              double scale, float[] pad, boolean causal, float[] dropout) {
        int c = heads * d;
        double[] ctx = new double[batch * tq * c], s = new double[tk];
        boolean[] keep = new boolean[tk];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < tq; i++) {
                    for (int j = 0; j < tk; j++) {
                        keep[j] = (pad == null || pad[b * tk + j] != 0) && (!causal || j <= tk - tq + i);
                        double dot = 0;
                        for (int t = 0; t < d; t++) {
                            dot += q[(b * tq + i) * c + h * d + t] * k[(b * tk + j) * c + h * d + t];
                        }
                        s[j] = dot * scale;
                    }
                    softmaxInPlace(s, 0, tk, keep);
                    for (int j = 0; j < tk && dropout != null; j++) {
                        s[j] *= dropout[((b * heads + h) * tq + i) * tk + j];
                    }
                    for (int t = 0; t < d; t++) {
                        double sum = 0;
                        for (int j = 0; j < tk; j++) {
                            sum += s[j] * v[(b * tk + j) * c + h * d + t];
                        }
                        ctx[(b * tq + i) * c + h * d + t] = sum;
                    }
                }
            }
        }
        return ctx;
    }

    static double crossEntropy(double[] z, long[] y, int classes, int ignore) {
        double total = 0;
        int kept = 0;
        for (int r = 0; r < y.length; r++) {
            if (y[r] == ignore) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < classes; j++) {
                max = Math.max(max, z[r * classes + j]);
            }
            for (int j = 0; j < classes; j++) {
                sum += Math.exp(z[r * classes + j] - max);
            }
            total += max + Math.log(sum) - z[r * classes + (int) y[r]];
            kept++;
        }
        return total / kept;
    }

    // ---------------------------------------------------------------- the checks

    @ParameterizedTest
    @MethodSource("backends")
    void linearBackwardEqualsFiniteDifferences(Backend backend) {
        for (boolean outIn : new boolean[] {true, false}) {
            Random rnd = new Random(outIn ? 1 : 2);
            int n = 5, in = 19, out = 37;
            Tensor x = random(rnd, 1, n, in), w = outIn ? random(rnd, 1, out, in) : random(rnd, 1, in, out);
            Tensor b = random(rnd, 1, out), r = random(rnd, 1, n, out);
            double[] xd = d(x), wd = d(w), bd = d(b), rd = d(r);
            // dW and db accumulate: start them from values that must be kept
            Tensor dW = random(rnd, 1, w.shape()), dB = random(rnd, 1, out);
            double[] dW0 = d(dW), dB0 = d(dB);
            WeightLayout layout = outIn ? WeightLayout.OUT_IN : WeightLayout.IN_OUT;
            Tensor dx = backend.linearBackward(r, x, w, layout, dW, dB, true);
            String what = backend.describe() + (outIn ? " OUT_IN" : " Conv1D");
            assertGrad(fd(xd, p -> dotR(rd, linear(p, wd, bd, n, in, out, outIn))), dx, what + " dx");
            double[] gw = fd(wd, p -> dotR(rd, linear(xd, p, bd, n, in, out, outIn)));
            double[] gb = fd(bd, p -> dotR(rd, linear(xd, wd, p, n, in, out, outIn)));
            assertGrad(plus(dW0, gw), dW, what + " dW");
            assertGrad(plus(dB0, gb), dB, what + " db");
            // frozen weight, no input gradient: nothing returned, nothing touched
            Tensor dWFrozen = random(rnd, 1, w.shape());
            double[] before = d(dWFrozen);
            assertEquals(null, backend.linearBackward(r, x, w, layout, null, null, false), what);
            assertGrad(before, dWFrozen, what + " untouched");
        }
    }

    static double[] plus(double[] a, double[] b) {
        double[] c = a.clone();
        for (int i = 0; i < c.length; i++) {
            c[i] += b[i];
        }
        return c;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void layerNormBackwardEqualsFiniteDifferences(Backend backend) {
        Random rnd = new Random(3);
        int rows = 4, c = 37;
        float eps = 1e-5f;
        Tensor x = random(rnd, 2, rows, c), gamma = random(rnd, 1, c), beta = random(rnd, 1, c), r = random(rnd, 1, rows, c);
        double[] xd = d(x), gd = d(gamma), bd = d(beta), rd = d(r);
        Tensor dGamma = Tensor.zeros(dev.jformers.core.DType.F32, c), dBeta = Tensor.zeros(dev.jformers.core.DType.F32, c);
        Tensor dx = backend.layerNormBackward(r, x, gamma, eps, dGamma, dBeta);
        String what = backend.describe();
        assertGrad(fd(xd, p -> dotR(rd, layerNorm(p, gd, bd, c, eps))), dx, what + " dx");
        assertGrad(fd(gd, p -> dotR(rd, layerNorm(xd, p, bd, c, eps))), dGamma, what + " dγ");
        assertGrad(fd(bd, p -> dotR(rd, layerNorm(xd, gd, p, c, eps))), dBeta, what + " dβ");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void activationBackwardEqualsFiniteDifferences(Backend backend) {
        for (Activation a : Activation.values()) {
            Random rnd = new Random(4 + a.ordinal());
            Tensor x = random(rnd, 4, 3, 37), r = random(rnd, 1, 3, 37);
            double[] xd = d(x), rd = d(r);
            for (int i = 0; i < xd.length; i++) {   // keep off ReLU's kink, where the derivative jumps
                if (Math.abs(xd[i]) < 1e-3) {
                    xd[i] = 0.5;
                }
            }
            x = Tensor.of(toFloats(xd), 3, 37);
            Tensor dx = backend.activationBackward(r, x, a);
            assertGrad(fd(xd, p -> {
                double s = 0;
                for (int i = 0; i < p.length; i++) {
                    s += rd[i] * act(p[i], a);
                }
                return s;
            }), dx, backend.describe() + " " + a);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void softmaxBackwardEqualsFiniteDifferences(Backend backend) {
        Random rnd = new Random(9);
        int rows = 3, c = 37;
        Tensor x = random(rnd, 3, rows, c), r = random(rnd, 1, rows, c);
        double[] xd = d(x), rd = d(r);
        boolean[] all = new boolean[c];
        Arrays.fill(all, true);
        Tensor dx = backend.softmaxBackward(r, backend.softmax(x));
        assertGrad(fd(xd, p -> {
            double[] y = p.clone();
            for (int row = 0; row < rows; row++) {
                softmaxInPlace(y, row * c, c, all);
            }
            return dotR(rd, y);
        }), dx, backend.describe());
    }

    /** No queries (or no keys): the other side's gradients are zeros, even where the backend has recycled arrays waiting. */
    @ParameterizedTest
    @MethodSource("backends")
    void attentionBackwardWithNothingToAttendGivesZeros(Backend backend) {
        int heads = 2, c = 8, t = 3;
        for (int i = 0; i < 3; i++) {   // arrays of dk's length, full of non-zeros, handed back to the backend
            Tensor junk = Tensor.of(new float[t * c], 1, t, c);
            Arrays.fill(junk.floatArray(), 7f);
            backend.recycle(junk);
        }
        Tensor q = Tensor.of(new float[0], 1, 0, c), kv = random(new Random(5), 1, 1, t, c);
        Tensor[] g = backend.attentionBackward(q, q, kv, kv, Tensor.of(new float[0], 1, heads, 0, t), heads, 0.5f);
        assertArrayEquals(new int[] {1, t, c}, g[1].shape(), backend.describe());
        assertArrayEquals(new float[t * c], g[1].toFloatArray(), backend.describe() + " dk");
        assertArrayEquals(new float[t * c], g[2].toFloatArray(), backend.describe() + " dv");
    }

    /** Padded (a masked key inside the row and at its end), causal, and both; q, k, v as views into one fused [B, T, 3C]. */
    @ParameterizedTest
    @MethodSource("backends")
    void attentionBackwardEqualsFiniteDifferences(Backend backend) {
        int batch = 2, t = 7, heads = 2, dh = 19, c = heads * dh;
        float scale = (float) (1 / Math.sqrt(dh));
        float[] pad = {1, 1, 1, 1, 1, 1, 1, /* row 1: */ 1, 0, 1, 1, 1, 0, 0};
        for (int variant = 0; variant < 3; variant++) {
            boolean causal = variant > 0;
            float[] mask = variant == 1 ? null : pad;
            Random rnd = new Random(10 + variant);
            Tensor fused = random(rnd, 1.5f, batch, t, 3 * c);
            Tensor q = fused.narrow(2, 0, c), k = fused.narrow(2, c, c), v = fused.narrow(2, 2 * c, c);
            Tensor r = random(rnd, 1, batch, t, c);
            double[] qd = d(q), kd = d(k), vd = d(v), rd = d(r);
            AttentionMask m = new AttentionMask(mask == null ? null : Tensor.of(mask, batch, t), causal);
            Tensor probs = backend.attention(q, k, v, heads, m, scale, true).probs();
            Tensor[] g = backend.attentionBackward(r, q, k, v, probs, heads, scale);
            String what = backend.describe() + (causal ? " causal" : "") + (mask != null ? " padded" : "");
            assertGrad(fd(qd, p -> dotR(rd, attention(p, kd, vd, batch, t, t, heads, dh, scale, mask, causal))), g[0], what + " dq");
            assertGrad(fd(kd, p -> dotR(rd, attention(qd, p, vd, batch, t, t, heads, dh, scale, mask, causal))), g[1], what + " dk");
            assertGrad(fd(vd, p -> dotR(rd, attention(qd, kd, p, batch, t, t, heads, dh, scale, mask, causal))), g[2], what + " dv");
            // dropout on the probabilities (p = 0.3): the same backward told the keep mask
            float[] drop = dropoutMask(rnd, batch * heads * t * t, 0.3f);
            Tensor[] gd = backend.attentionBackward(r, q, k, v, probs, Tensor.of(drop, batch, heads, t, t), heads, scale);
            assertGrad(fd(qd, p -> dotR(rd, attention(p, kd, vd, batch, t, t, heads, dh, scale, mask, causal, drop))), gd[0], what + " dropout dq");
            assertGrad(fd(kd, p -> dotR(rd, attention(qd, p, vd, batch, t, t, heads, dh, scale, mask, causal, drop))), gd[1], what + " dropout dk");
            assertGrad(fd(vd, p -> dotR(rd, attention(qd, kd, p, batch, t, t, heads, dh, scale, mask, causal, drop))), gd[2], what + " dropout dv");
        }
    }

    /**
     * q, k and v as the thirds of one fused [B, T, 3C] array: the gradients are the bits of the same q, k, v given as
     * three arrays of their own; the SIMD backend lays them out in one array as q, k and v lie in theirs (the autograd
     * then takes that array as the fused projection's gradient).
     */
    @ParameterizedTest
    @MethodSource("backends")
    void attentionBackwardOfFusedThirdsEqualsSeparateInputs(Backend backend) {
        int batch = 3, t = 21, heads = 2, dh = 16, c = heads * dh;
        Random rnd = new Random(31);
        Tensor fused = random(rnd, 1.5f, batch, t, 3 * c), r = random(rnd, 1, batch, t, c);
        Tensor q = fused.narrow(2, 0, c), k = fused.narrow(2, c, c), v = fused.narrow(2, 2 * c, c);
        AttentionMask m = new AttentionMask(null, true);
        Tensor probs = backend.attention(q, k, v, heads, m, 0.25f, true).probs();
        Tensor[] g = backend.attentionBackward(r, q, k, v, probs, heads, 0.25f);
        Tensor[] separate = backend.attentionBackward(r, q.contiguous(), k.contiguous(), v.contiguous(), probs, heads, 0.25f);
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(separate[i].toFloatArray(), g[i].toFloatArray(), backend.describe() + " gradient " + i);
        }
        if (backend instanceof SimdBackend) {
            for (int i = 0; i < 3; i++) {
                Tensor input = new Tensor[] {q, k, v}[i];
                assertTrue(g[i].floatArray() == g[0].floatArray() && g[i].arrayOffset() == input.arrayOffset()
                        && Arrays.equals(g[i].strides(), input.strides()), backend.describe() + " gradient " + i + " laid out as its input");
            }
        }
    }

    /** A dropout mask: 0 with probability p, else 1/(1 − p). */
    static float[] dropoutMask(Random rnd, int n, float p) {
        float[] m = new float[n];
        for (int i = 0; i < n; i++) {
            m[i] = rnd.nextFloat() < p ? 0 : 1 / (1 - p);
        }
        return m;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void embeddingBackwardScatterAddsAndSkipsThePaddingRow(Backend backend) {
        Random rnd = new Random(12);
        int vocab = 11, c = 37, padding = 1;
        long[] ids = {3, 1, 3, 0, 10, 1, 3};
        Tensor dy = random(rnd, 1, 1, ids.length, c), table = random(rnd, 1, vocab, c);
        double[] expected = d(table), gy = d(dy);
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < c && ids[i] != padding; j++) {
                expected[(int) ids[i] * c + j] += gy[i * c + j];
            }
        }
        float[] paddingRow = Arrays.copyOfRange(table.toFloatArray(), padding * c, padding * c + c);
        backend.embeddingBackward(dy, Tensor.ofLongs(ids, 1, ids.length), table, padding);
        assertGrad(expected, table, backend.describe());
        assertTrue(Arrays.equals(paddingRow, Arrays.copyOfRange(table.toFloatArray(), padding * c, padding * c + c)),
                "the padding row gets no gradient");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void crossEntropyAndItsBackwardEqualFiniteDifferences(Backend backend) {
        Random rnd = new Random(13);
        int rows = 5, classes = 37, ignore = -100;
        long[] y = {3, -100, 36, 0, 17};
        Tensor z = random(rnd, 4, rows, classes);
        double[] zd = d(z);
        Tensor labels = Tensor.ofLongs(y, rows);
        float loss = backend.crossEntropy(z, labels, ignore).toFloatArray()[0];
        assertEquals(crossEntropy(zd, y, classes, ignore), loss, 1e-5, backend.describe() + " loss");
        Tensor dz = backend.crossEntropyBackward(z, labels, ignore, 0.7f);
        double[] expected = fd(zd, p -> 0.7 * crossEntropy(p, y, classes, ignore));
        assertGrad(expected, dz, backend.describe() + " dz");
        // a strided view of the logits (QA's start logits are a column of [N, 2]) gives the same
        Tensor wide = random(rnd, 1, rows, 2 * classes);
        backend.copyInto(z, wide.narrow(1, classes, classes));
        assertGrad(expected, backend.crossEntropyBackward(wide.narrow(1, classes, classes), labels, ignore, 0.7f),
                backend.describe() + " dz of a view");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void regressionLossesEqualFiniteDifferences(Backend backend) {
        Random rnd = new Random(14);
        Tensor x = random(rnd, 2, 3, 7), target = random(rnd, 1, 3, 7);
        double[] xd = d(x), td = d(target);
        for (int i = 0; i < td.length; i++) {
            td[i] = Math.abs(td[i]);   // a BCE target is a probability
        }
        target = Tensor.of(toFloats(td), 3, 7);
        assertGrad(fd(xd, p -> {
            double s = 0;
            for (int i = 0; i < p.length; i++) {
                s += (p[i] - td[i]) * (p[i] - td[i]);
            }
            return 0.5 * s / p.length;
        }), backend.mseLossBackward(x, target, 0.5f), backend.describe() + " mse");
        assertGrad(fd(xd, p -> {
            double s = 0;
            for (int i = 0; i < p.length; i++) {
                s += Math.max(p[i], 0) - p[i] * td[i] + Math.log1p(Math.exp(-Math.abs(p[i])));
            }
            return s / p.length;
        }), backend.bceWithLogitsLossBackward(x, target, 1f), backend.describe() + " bce");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void accumulateAddsIntoAStridedView(Backend backend) {
        Random rnd = new Random(15);
        Tensor base = random(rnd, 1, 4, 3 * 37), src = random(rnd, 1, 4, 37);
        double[] expected = d(base);
        double[] s = d(src);
        for (int r = 0; r < 4; r++) {
            for (int j = 0; j < 37; j++) {
                expected[r * 111 + 37 + j] += s[r * 37 + j];
            }
        }
        backend.accumulate(base.narrow(1, 37, 37), src);
        assertGrad(expected, base, backend.describe());
    }

    // ---------------------------------------------------------------- SIMD against the reference, larger shapes

    static final ScalarBackend REFERENCE = new ScalarBackend();

    static List<Backend> simdBackends() {
        return BACKENDS.subList(1, BACKENDS.size());
    }

    /**
     * SIMD and reference agree within 2e-5·max|reference| + 1e-4·|element| — float sums of up to 1400 terms
     * against double ones — on shapes that take the threaded paths, K blocks, partial panels and tails.
     */
    static void assertNear(Tensor expected, Tensor actual, String what) {
        float max = 0;
        for (float f : expected.contiguous().toFloatArray()) {
            max = Math.max(max, Math.abs(f));
        }
        TestTensors.assertClose(expected.contiguous(), actual.contiguous(), 2e-5 * max, 1e-4, what);
    }

    /** One op on fixed random inputs: what it returns and every gradient it accumulates into (fresh copies each run). */
    record Case(String name, Function<Backend, Tensor[]> run) {
    }

    static Tensor copy(Tensor t) {
        return Tensor.of(t.toFloatArray(), t.shape());
    }

    static final List<Case> CASES = largeCases();

    /** The reference's results, computed once (the double loops are the slow part of this test). */
    static final List<Tensor[]> EXPECTED = CASES.stream().map(c -> c.run().apply(REFERENCE)).toList();

    static List<Case> largeCases() {
        Random rnd = new Random(20);
        List<Case> cases = new ArrayList<>();
        for (int[] nio : new int[][] {{131, 77, 203}, {1400, 40, 70}, {1, 33, 65}}) {
            for (WeightLayout layout : WeightLayout.values()) {
                int n = nio[0], in = nio[1], out = nio[2];
                Tensor x = random(rnd, 1, n, in), dy = random(rnd, 1, n, out);
                Tensor w = layout == WeightLayout.OUT_IN ? random(rnd, 1, out, in) : random(rnd, 1, in, out);
                Tensor dW = random(rnd, 1, w.shape()), dB = random(rnd, 1, out);
                cases.add(new Case("linear " + Arrays.toString(nio) + " " + layout, be -> {
                    Tensor gw = copy(dW), gb = copy(dB);
                    return new Tensor[] {be.linearBackward(dy, x, w, layout, gw, gb, true), gw, gb};
                }));
            }
        }
        // head widths: odd (tails of the transposed products' d rows), and 32 and 16 (whole tiles at every width)
        for (int[] shape : new int[][] {{67, 3, 21}, {41, 2, 32}, {29, 2, 16}}) {
            int batch = 2, t = shape[0], heads = shape[1], dh = shape[2], c = heads * dh;
            float[] pad = new float[batch * t];
            Arrays.fill(pad, 1f);
            Arrays.fill(pad, t + t * 3 / 4, 2 * t, 0f);   // row 1: right padding
            pad[t + 7] = 0f;                               // and a masked key inside
            for (boolean causal : new boolean[] {false, true}) {
                Tensor fused = random(rnd, 2, batch, t, 3 * c), dc = random(rnd, 1, batch, t, c);
                Tensor q = fused.narrow(2, 0, c), k = fused.narrow(2, c, c), v = fused.narrow(2, 2 * c, c);
                AttentionMask m = new AttentionMask(Tensor.of(pad, batch, t), causal);
                Tensor probs = REFERENCE.attention(q, k, v, heads, m, 0.2f, true).probs();
                String name = "attention t " + t + " d " + dh + (causal ? " causal" : "");
                cases.add(new Case(name, be -> be.attentionBackward(dc, q, k, v, probs, heads, 0.2f)));
                Tensor drop = Tensor.of(dropoutMask(rnd, batch * heads * t * t, 0.1f), batch, heads, t, t);
                cases.add(new Case(name + " with dropout", be -> be.attentionBackward(dc, q, k, v, probs, drop, heads, 0.2f)));
            }
        }
        Tensor x = random(rnd, 2, 700, 389), dy = random(rnd, 1, 700, 389), gamma = random(rnd, 1, 389);
        cases.add(new Case("layerNorm", be -> {
            Tensor dG = Tensor.of(new float[389], 389), dB = Tensor.of(new float[389], 389);
            return new Tensor[] {be.layerNormBackward(dy, x, gamma, 1e-12f, dG, dB), dG, dB};
        }));
        Tensor a = random(rnd, 5, 70001), da = random(rnd, 1, 70001);
        for (Activation act : Activation.values()) {
            cases.add(new Case(act.toString(), be -> new Tensor[] {be.activationBackward(da, a, act)}));
        }
        Tensor y = REFERENCE.softmax(random(rnd, 3, 200, 300)), dSoft = random(rnd, 1, 200, 300);
        cases.add(new Case("softmax", be -> new Tensor[] {be.softmaxBackward(dSoft, y)}));
        Tensor logits = random(rnd, 8, 37, 5003);
        long[] labels = new long[37];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = i % 5 == 0 ? -100 : rnd.nextInt(5003);
        }
        Tensor ids = Tensor.ofLongs(labels, 37);
        cases.add(new Case("cross-entropy", be -> new Tensor[] {be.crossEntropy(logits, ids, -100),
                be.crossEntropyBackward(logits, ids, -100, 1.3f)}));
        long[] tokens = new long[500];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = rnd.nextInt(50);
        }
        Tensor dEmb = random(rnd, 1, 500, 600), table = random(rnd, 1, 50, 600);
        cases.add(new Case("embedding", be -> {
            Tensor dTable = copy(table);
            be.embeddingBackward(dEmb, Tensor.ofLongs(tokens, 500), dTable, 0);
            return new Tensor[] {dTable};
        }));
        Tensor mask = random(rnd, 2, 600, 501), other = random(rnd, 1, 600, 501);
        cases.add(new Case("multiply, scale", be -> new Tensor[] {be.multiply(other, mask), be.scale(other, 0.3f)}));
        Tensor acc = random(rnd, 1, 600, 500), src = random(rnd, 1, 600, 500);
        cases.add(new Case("accumulate", be -> {
            Tensor dst = copy(acc);
            be.accumulate(dst, src);
            return new Tensor[] {dst};
        }));
        return cases;
    }

    @ParameterizedTest
    @MethodSource("simdBackends")
    void simdBackwardEqualsTheReferenceOnLargerShapes(Backend simd) {
        for (int i = 0; i < CASES.size(); i++) {
            Tensor[] expected = EXPECTED.get(i), actual = CASES.get(i).run().apply(simd);
            for (int j = 0; j < expected.length; j++) {
                assertNear(expected[j], actual[j], simd.describe() + " " + CASES.get(i).name() + " result " + j);
            }
        }
    }

    /**
     * A weight gradient's GEMM gives one set of bits on 1 and 2 threads, with its transposed A copied block by block
     * into strips of 6 and 4 rows or of 4 alone ({@link SimdBackend#sixRowStrips}), or read in place
     * ({@link SimdBackend#copyTransposedA}): every element is one tile's sum over the tokens in the
     * same order either way. 1149 rows of dW (out; a tail of one row) are 9 blocks of 128 on 1 thread, 10 of 116 on 2
     * ({@link SimdBackend#balancedRowBlock}); 600 tokens are two K blocks at 512 bits; 70 columns a partial panel.
     */
    @Test
    void weightGradientBitsDoNotDependOnThreadsOrOnCopyingA() {
        Random rnd = new Random(21);
        int n = 600, in = 70, out = 1149;
        Tensor x = random(rnd, 1, n, in), dy = random(rnd, 1, n, out), w = random(rnd, 1, out, in);
        for (int bits : new int[] {512, 256}) {
            float[] first = null;
            for (int threads : new int[] {1, 2}) {
                for (int variant = 0; variant < 3; variant++) {   // strips of 6 and 4 rows, strips of 4, A in place
                    try (SimdBackend simd = new SimdBackend(threads, bits)) {
                        simd.copyTransposedA = variant < 2;
                        simd.sixRowStrips = variant == 0;
                        Tensor dW = Tensor.of(new float[out * in], out, in);
                        simd.linearBackward(dy, x, w, WeightLayout.OUT_IN, dW, null, false);
                        float[] got = dW.toFloatArray();
                        if (first == null) {
                            first = got;
                        } else {
                            assertArrayEquals(first, got, bits + " bits, " + threads + " threads, variant " + variant);
                        }
                    }
                }
            }
        }
    }

    /** Balanced row blocks are whole tiles, no larger than MC, a multiple of the thread count (else MC), and 1149 rows balance. */
    @Test
    void balancedRowBlocksSplitEvenlyIntoWholeTiles() {
        for (int threads : new int[] {1, 2, 3, 4}) {
            for (int m = 1; m <= 6000; m++) {
                int mc = SimdBackend.balancedRowBlock(m, threads), blocks = (m + mc - 1) / mc;
                String what = m + " rows, " + threads + " threads: " + mc;
                assertTrue(mc % Kernels.MR == 0 && mc <= SimdBackend.MC, what);
                assertTrue(mc == SimdBackend.MC || blocks % threads == 0, what + " (" + blocks + " blocks)");
            }
        }
        assertEquals(116, SimdBackend.balancedRowBlock(1149, 2));
    }

    static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
