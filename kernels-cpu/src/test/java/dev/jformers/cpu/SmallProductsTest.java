package dev.jformers.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Attention's small products ({@link Kernels#matMulRows}, {@link Kernels#matMulTransposedRows}) at every width
 * give the bits of the plain loop — each element one chain of FMAs over t from 0 — whichever tile (4 × 4,
 * 4 × 2, masked 4 × 1, single rows; 8 × 2 for A transposed two vectors wide) computes it: row counts around 4
 * and 8, widths around one, two and four vectors, strided operands inside larger arrays, and C written into a
 * wider array whose other columns stay untouched.
 */
class SmallProductsTest {
    private static final Kernels PLAIN = Kernels.forBits(SimdBackend.SCALAR_BITS);

    @ParameterizedTest
    @ValueSource(ints = {512, 256, 128, SimdBackend.SCALAR_BITS})
    void productsEqualThePlainLoopBitForBit(int bits) {
        Kernels kernels = Kernels.forBits(bits);
        int l = kernels.lanes();
        Random rnd = new Random(bits);
        for (int rows : new int[] {1, 3, 4, 7, 8, 9, 12, 16, 19}) {
            for (int n : new int[] {1, l, 2 * l - 1, 2 * l, 2 * l + 1, 3 * l, 4 * l, 4 * l + 2 * l, 5 * l + 3}) {
                for (int k : new int[] {1, 5, 37}) {
                    int lda = k + 3, ldb = n + 5, ldc = n + 7, aOff = 2, bOff = 3, cOff = 4;
                    float[] a = random(rnd, aOff + rows * lda), b = random(rnd, bOff + k * ldb);
                    String what = bits + " bits, " + rows + " × " + k + " · " + k + " × " + n;
                    // A row-major, and the same A stored transposed ([k × rows], row stride rows + 2)
                    int ldt = rows + 2;
                    float[] aT = new float[aOff + k * ldt];
                    for (int r = 0; r < rows; r++) {
                        for (int t = 0; t < k; t++) {
                            aT[aOff + t * ldt + r] = a[aOff + r * lda + t];
                        }
                    }
                    float[] expected = random(rnd, cOff + rows * ldc);
                    float[] direct = expected.clone(), transposed = expected.clone();
                    PLAIN.matMulRows(a, aOff, lda, rows, k, b, bOff, ldb, n, expected, cOff, ldc);
                    kernels.matMulRows(a, aOff, lda, rows, k, b, bOff, ldb, n, direct, cOff, ldc);
                    kernels.matMulTransposedRows(aT, aOff, ldt, rows, k, b, bOff, ldb, n, transposed, cOff, ldc);
                    assertArrayEquals(expected, direct, what);
                    assertArrayEquals(expected, transposed, what + ", A transposed");
                }
            }
        }
    }

    /**
     * Decoding attention's weighted values over a chunk of positions ({@link Kernels#chunkAxpys}: at 512 bits six heads'
     * sums in registers) give the bits of the plain loop — each element one FMA chain over the positions from zero — for
     * head counts around the groups of six, head sizes with and without the register path, strided probabilities and
     * values, and chunks of no position.
     */
    @ParameterizedTest
    @ValueSource(ints = {512, 256, 128, SimdBackend.SCALAR_BITS})
    void chunkAxpysEqualsThePlainLoopBitForBit(int bits) {
        Kernels kernels = Kernels.forBits(bits);
        Random rnd = new Random(bits + 1);
        for (int heads : new int[] {1, 5, 6, 7, 12, 13, 16}) {
            for (int d : new int[] {32, 64, 100}) {
                for (int count : new int[] {0, 1, 6, 7, 10}) {
                    int pStride = count + 3, vStride = heads * d + 5, pOff = 2, vOff = 3, yOff = 4;
                    float[] p = random(rnd, pOff + heads * pStride), v = random(rnd, vOff + count * vStride);
                    float[] expected = random(rnd, yOff + heads * d + 2), actual = expected.clone();
                    for (int h = 0; h < heads; h++) {
                        for (int i = 0; i < d; i++) {
                            float sum = 0f;
                            for (int j = 0; j < count; j++) {
                                sum = Math.fma(p[pOff + h * pStride + j], v[vOff + j * vStride + h * d + i], sum);
                            }
                            expected[yOff + h * d + i] = sum;
                        }
                    }
                    kernels.chunkAxpys(p, pOff, pStride, count, v, vOff, vStride, actual, yOff, heads, d);
                    assertArrayEquals(expected, actual, bits + " bits, " + heads + " heads of " + d + ", " + count + " positions");
                }
            }
        }
    }

    private static float[] random(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }
}
