package dev.jformers.cpu;

import dev.jformers.core.AdamWStep;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The SIMD backend's AdamW (whole vectors, split between threads) gives the reference loop's bits exactly. */
class AdamWKernelTest {
    @Test
    void vectorisedAndThreadedStepsEqualTheReferenceLoopBitForBit() {
        Random random = new Random(7);
        // step 3 of lr 1e-3, weight decay 0.01, betas (0.9, 0.999), eps 1e-8, rounded to float as AdamW rounds them
        AdamWStep step = new AdamWStep((float) (1 - 1e-3 * 0.01), 0.9f, (float) (1 - 0.9), 0.999f, (float) (1 - 0.999),
                (float) (1e-3 / (1 - Math.pow(0.9, 3))), (float) Math.sqrt(1 - Math.pow(0.999, 3)), 1e-8f);
        for (int n : new int[] {1, 15, 17, 100, 300_001}) {
            int off = 3;
            float[] w = gaussian(random, n + off, 0.05), g = gaussian(random, n + off, 1e-3),
                    m = gaussian(random, n, 1e-4), v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) Math.abs(random.nextGaussian() * 1e-6);
            }
            float[] wRef = w.clone(), mRef = m.clone(), vRef = v.clone();
            step.apply(wRef, g, off, mRef, vRef, 0, n);
            for (int bits : new int[] {512, 256, 128}) {
                for (int threads : new int[] {1, 2}) {
                    try (SimdBackend backend = new SimdBackend(threads, bits)) {
                        float[] w2 = w.clone(), m2 = m.clone(), v2 = v.clone();
                        backend.adamW(step, w2, g, off, m2, v2, n);
                        String where = backend.describe() + ", n " + n;
                        assertArrayEquals(wRef, w2, where + ": weights");
                        assertArrayEquals(mRef, m2, where + ": first moment");
                        assertArrayEquals(vRef, v2, where + ": second moment");
                    }
                }
            }
        }
    }

    private static float[] gaussian(Random random, int n, double std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (random.nextGaussian() * std);
        }
        return a;
    }
}
