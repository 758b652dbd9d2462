package dev.jformers.cpu;

import dev.jformers.core.Activation;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.Backend;
import dev.jformers.core.JformersException;
import dev.jformers.core.MathFunctions;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Random;

import static dev.jformers.cpu.TestTensors.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Both CPU backends against values computed independently of either (tables, by hand, invariants). */
class KnownValuesTest {
    static final List<Backend> BACKENDS = List.of(new ScalarBackend(), new SimdBackend(2, 0), new SimdBackend(1, 256),
            new SimdBackend(1, SimdBackend.SCALAR_BITS));

    static List<Backend> backends() {
        return BACKENDS;
    }

    @AfterAll
    static void closeAll() {
        BACKENDS.forEach(Backend::close);
    }

    /** erf from tables (Abramowitz & Stegun 7.1, mpmath to 16 digits). */
    static final double[][] ERF = {
        {0.5, 0.5204998778130465}, {1, 0.8427007929497149}, {2, 0.9953222650189527}, {-3, -0.9999779095030014},
        {0.1, 0.1124629160182849}, {-0.75, -0.7111556336535151}, {0, 0}};

    @Test
    void referenceErfMatchesTables() {
        for (double[] e : ERF) {
            assertEquals(e[1], MathFunctions.erf(e[0]), 1e-14, "erf(" + e[0] + ")");
        }
    }

    @Test
    void fastErfMatchesTablesToAbout1e7() {
        for (double[] e : ERF) {
            assertEquals(e[1], Kernels.erf((float) e[0]), 2e-7, "Kernels.erf(" + e[0] + ")");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void geluMatchesTabulatedErf(Backend backend) {
        // gelu(x) = x/2 · (1 + erf(x/√2)), so at x = √2·z it is z/√2 · (1 + erf(z)).
        float[] x = new float[ERF.length];
        for (int i = 0; i < ERF.length; i++) {
            x[i] = (float) (Math.sqrt(2) * ERF[i][0]);
        }
        float[] y = backend.activation(Tensor.of(x, x.length), Activation.GELU).toFloatArray();
        for (int i = 0; i < ERF.length; i++) {
            double expected = 0.5 * x[i] * (1 + ERF[i][1]);
            assertEquals(expected, y[i], 1e-6 + 2e-7 * Math.abs(expected), backend.describe() + " gelu(" + x[i] + ")");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void otherActivationsMatchTheirFormulas(Backend backend) {
        float[] x = {-4f, -1f, -0.25f, 0f, 0.25f, 1f, 4f};
        Tensor t = Tensor.of(x, x.length);
        float[] relu = backend.activation(t, Activation.RELU).toFloatArray();
        float[] tanh = backend.activation(t, Activation.TANH).toFloatArray();
        float[] silu = backend.activation(t, Activation.SILU).toFloatArray();
        float[] geluTanh = backend.activation(t, Activation.GELU_TANH).toFloatArray();
        for (int i = 0; i < x.length; i++) {
            assertEquals(Math.max(0, x[i]), relu[i], 0, "relu");
            assertEquals(Math.tanh(x[i]), tanh[i], 1e-6, "tanh");
            assertEquals(x[i] / (1 + Math.exp(-x[i])), silu[i], 1e-6, "silu");
            double u = Math.sqrt(2 / Math.PI) * (x[i] + 0.044715 * Math.pow(x[i], 3));
            assertEquals(0.5 * x[i] * (1 + Math.tanh(u)), geluTanh[i], 1e-6, "gelu_tanh");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void softmaxRowsArePositiveAndSumToOne(Backend backend) {
        Tensor x = random(new Random(1), 20f, 7, 33);
        float[] p = backend.softmax(x).toFloatArray();
        for (int r = 0; r < 7; r++) {
            double sum = 0;
            for (int j = 0; j < 33; j++) {
                assertTrue(p[r * 33 + j] >= 0);
                sum += p[r * 33 + j];
            }
            assertEquals(1.0, sum, 1e-5);
        }
        float[] two = backend.softmax(Tensor.of(new float[] {0f, (float) Math.log(3)}, 2)).toFloatArray();
        assertArrayEquals(new float[] {0.25f, 0.75f}, two, 1e-6f);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void layerNormGivesMeanZeroAndVarianceOne(Backend backend) {
        int c = 301;
        Tensor x = backend.add(random(new Random(2), 5f, 4, c), Tensor.full(42f, c));
        float[] y = backend.layerNorm(x, Tensor.full(1f, c), Tensor.full(0f, c), 0f).toFloatArray();
        for (int r = 0; r < 4; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < c; i++) {
                mean += y[r * c + i];
            }
            mean /= c;
            for (int i = 0; i < c; i++) {
                var += (y[r * c + i] - mean) * (y[r * c + i] - mean);
            }
            assertEquals(0, mean, 1e-5, "mean of row " + r);
            assertEquals(1, var / c, 1e-4, "variance of row " + r);
        }
        // [1, 2, 3]: mean 2, variance 2/3, so (x − 2)/√(2/3)·γ + β
        float[] small = backend.layerNorm(Tensor.of(new float[] {1, 2, 3}, 1, 3), Tensor.of(new float[] {1, 2, 3}, 3),
                Tensor.of(new float[] {0, 1, 0}, 3), 0f).toFloatArray();
        double s = Math.sqrt(1.5);
        assertArrayEquals(new float[] {(float) -s, 1f, (float) (3 * s)}, small, 1e-5f);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void smallProductsComputedByHand(Backend backend) {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
        Tensor b = Tensor.of(new float[] {5, 6, 7, 8}, 2, 2);
        assertArrayEquals(new float[] {19, 22, 43, 50}, backend.matmul(a, b).toFloatArray());
        // linear: y = x·Wᵀ + bias with W [out=3, in=2]; the same numbers as [in, out] for IN_OUT
        Tensor x = Tensor.of(new float[] {1, 2}, 1, 2);
        Tensor wOutIn = Tensor.of(new float[] {1, 0, 0, 1, 1, 1}, 3, 2);
        Tensor bias = Tensor.of(new float[] {10, 20, 30}, 3);
        assertArrayEquals(new float[] {11, 22, 33},
                backend.linear(x, backend.prepareLinear(wOutIn, bias, WeightLayout.OUT_IN)).toFloatArray());
        Tensor wInOut = Tensor.of(new float[] {1, 0, 1, 0, 1, 1}, 2, 3);
        assertArrayEquals(new float[] {1, 2, 3},
                backend.linear(x, backend.prepareLinear(wInOut, null, WeightLayout.IN_OUT)).toFloatArray());
        assertArrayEquals(new float[] {2, 4, 4, 6}, backend.add(a, Tensor.of(new float[] {1, 2}, 2)).toFloatArray());
    }

    @ParameterizedTest
    @MethodSource("backends")
    void attentionByHand(Backend backend) {
        // One head, d = 1: scores q·k = [0, ln 3] → p = [1/4, 3/4]; context = 1/4·v0 + 3/4·v1.
        Tensor q = Tensor.of(new float[] {1}, 1, 1, 1);
        Tensor k = Tensor.of(new float[] {0, (float) Math.log(3)}, 1, 2, 1);
        Tensor v = Tensor.of(new float[] {4, 8}, 1, 2, 1);
        var out = backend.attention(q, k, v, 1, AttentionMask.NONE, 1f, true);
        assertArrayEquals(new float[] {7}, out.context().toFloatArray(), 1e-5f);
        assertArrayEquals(new float[] {0.25f, 0.75f}, out.probs().toFloatArray(), 1e-6f);
        // The one query sits at the last position, so causal masking hides nothing; padding the second key does.
        var padded = backend.attention(q, k, v, 1, AttentionMask.causal(Tensor.of(new float[] {1, 0}, 1, 2)), 1f, false);
        assertArrayEquals(new float[] {4}, padded.context().toFloatArray(), 1e-6f);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void embeddingLooksUpRowsAndRejectsIdsOutOfRange(Backend backend) {
        Tensor table = Tensor.of(new float[] {0, 1, 10, 11, 20, 21}, 3, 2);
        assertArrayEquals(new float[] {20, 21, 0, 1}, backend.embedding(table, Tensor.ofLongs(new long[] {2, 0}, 2)).toFloatArray());
        JformersException high = assertThrows(JformersException.class,
                () -> backend.embedding(table, Tensor.ofLongs(new long[] {0, 3}, 2)));
        assertTrue(high.getMessage().contains("3") && high.getMessage().contains("3 rows"), high.getMessage());
        assertThrows(JformersException.class, () -> backend.embedding(table, Tensor.ofLongs(new long[] {-1}, 1)));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void shapeErrorsNameBothShapes(Backend backend) {
        Tensor a = Tensor.zeros(dev.jformers.core.DType.F32, 2, 3);
        ShapeException add = assertThrows(ShapeException.class, () -> backend.add(a, Tensor.zeros(dev.jformers.core.DType.F32, 4)));
        assertTrue(add.getMessage().contains("[2, 3]") && add.getMessage().contains("[4]"), add.getMessage());
        ShapeException mm = assertThrows(ShapeException.class, () -> backend.matmul(a, Tensor.zeros(dev.jformers.core.DType.F32, 4, 5)));
        assertTrue(mm.getMessage().contains("[2, 3]") && mm.getMessage().contains("[4, 5]"), mm.getMessage());
        ShapeException lin = assertThrows(ShapeException.class,
                () -> backend.linear(a, backend.prepareLinear(Tensor.zeros(dev.jformers.core.DType.F32, 5, 4), null, WeightLayout.OUT_IN)));
        assertTrue(lin.getMessage().contains("[2, 3]") && lin.getMessage().contains("4"), lin.getMessage());
        ShapeException bias = assertThrows(ShapeException.class, () -> backend.prepareLinear(
                Tensor.zeros(dev.jformers.core.DType.F32, 5, 4), Tensor.zeros(dev.jformers.core.DType.F32, 4), WeightLayout.OUT_IN));
        assertTrue(bias.getMessage().contains("[5, 4]") && bias.getMessage().contains("[4]"), bias.getMessage());
        ShapeException ln = assertThrows(ShapeException.class, () -> backend.layerNorm(a,
                Tensor.zeros(dev.jformers.core.DType.F32, 2), Tensor.zeros(dev.jformers.core.DType.F32, 2), 1e-5f));
        assertTrue(ln.getMessage().contains("[2, 3]") && ln.getMessage().contains("[2]"), ln.getMessage());
    }
}
