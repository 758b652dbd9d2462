package dev.jformers.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The vector kernels sum a vector's lanes in one fixed pairwise order, so that a call gives the same bits
 * before and after the JIT compiles it (reduceLanes(ADD) did not: its order is unspecified and the intrinsic's
 * differs from the Java fallback's). Values of very different magnitudes make every other order show.
 */
class LaneSumOrderTest {
    @ParameterizedTest
    @ValueSource(ints = {512, 256, 128})
    void dotAddsItsLanesPairwiseInAFixedOrder(int bits) {
        Kernels kernels = Kernels.forBits(bits);
        int lanes = bits / 32, n = 2 * lanes;
        Random random = new Random(bits);
        for (int trial = 0; trial < 200; trial++) {
            float[] a = new float[n], ones = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(16) - 8));
                ones[i] = 1f;
            }
            // dot's two accumulators hold a[i] and a[i + lanes]; added lane-wise, then halved down to lane 0
            float[] v = new float[lanes];
            for (int i = 0; i < lanes; i++) {
                v[i] = a[i] + a[i + lanes];
            }
            for (int half = lanes / 2; half > 0; half /= 2) {
                for (int i = 0; i < half; i++) {
                    v[i] += v[i + half];
                }
            }
            assertEquals(Float.floatToIntBits(v[0]), Float.floatToIntBits(kernels.dot(a, 0, ones, 0, n)),
                    "trial " + trial);
        }
    }
}
