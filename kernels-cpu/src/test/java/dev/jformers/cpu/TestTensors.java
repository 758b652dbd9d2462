package dev.jformers.cpu;

import dev.jformers.core.Tensor;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Random tensors and element-wise comparison for the backend tests. */
final class TestTensors {
    private TestTensors() {
    }

    /** Uniform values in [−scale, scale). */
    static Tensor random(Random rnd, float scale, int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (rnd.nextFloat() * 2 - 1) * scale;
        }
        return Tensor.of(v, shape);
    }

    /** Same shape, and |expected − actual| ≤ atol + rtol·|expected| element by element. */
    static void assertClose(Tensor expected, Tensor actual, double atol, double rtol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            boolean ok = e[i] == a[i]   // infinities, exact zeros
                    || Math.abs((double) e[i] - a[i]) <= atol + rtol * Math.abs(e[i]);
            if (!ok) {
                fail(what + ": element " + i + " of " + Arrays.toString(expected.shape()) + " expected " + e[i]
                        + " but was " + a[i]);
            }
        }
    }
}
