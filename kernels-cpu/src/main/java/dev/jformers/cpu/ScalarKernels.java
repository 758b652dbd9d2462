package dev.jformers.cpu;

import dev.jformers.core.Activation;


/**
 * {@link Kernels} as plain float loops ("vectors" of one lane), for {@code jformers.simd.bits=scalar}:
 * the same blocking, packing and threading as the vector kernels, without the Vector API.
 */
final class ScalarKernels extends Kernels {

    /** Panel width of the scalar GEMM tile. */
    private static final int NR = 8;

    @Override
    int bits() {
        return SimdBackend.SCALAR_BITS;
    }

    @Override
    int lanes() {
        return 1;
    }

    @Override
    int panelWidth() {
        return NR;
    }

    @Override
    void gemmTile(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] c, int cOff, int ldc, int rows) {
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < NR; j++) {
                float sum = c[cOff + r * ldc + j];
                for (int t = 0; t < kc; t++) {
                    sum = Math.fma(a[aOff + r * lda + t], b[bOff + t * NR + j], sum);
                }
                c[cOff + r * ldc + j] = sum;
            }
        }
    }

    @Override
    void vecMat(float[] x, int xOff, int k, float[] m, int mOff, int ld, int n, float[] out, int outOff) {
        for (int j = 0; j < n; j++) {
            float sum = 0;
            for (int t = 0; t < k; t++) {
                sum = Math.fma(x[xOff + t], m[mOff + t * ld + j], sum);
            }
            out[outOff + j] = sum;
        }
    }

    @Override
    void matMulRows(float[] a, int aOff, int lda, int rows, int k, float[] b, int bOff, int ldb, int n,
                    float[] c, int cOff, int ldc) {
        for (int r = 0; r < rows; r++) {
            vecMat(a, aOff + r * lda, k, b, bOff, ldb, n, c, cOff + r * ldc);
        }
    }

    @Override
    void matMulTransposedRows(float[] a, int aOff, int lda, int rows, int k, float[] b, int bOff, int ldb, int n,
                              float[] c, int cOff, int ldc) {
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < n; j++) {
                float sum = 0;
                for (int t = 0; t < k; t++) {
                    sum = Math.fma(a[aOff + t * lda + r], b[bOff + t * ldb + j], sum);
                }
                c[cOff + r * ldc + j] = sum;
            }
        }
    }

    @Override
    void headAxpys(float[] p, int pOff, int pStride, float[] v, int vOff, float[] y, int yOff, int heads, int d) {
        for (int h = 0; h < heads; h++) {
            float a = p[pOff + h * pStride];
            for (int i = 0; i < d; i++) {
                y[yOff + h * d + i] = Math.fma(a, v[vOff + h * d + i], y[yOff + h * d + i]);
            }
        }
    }

    @Override
    float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float sum = 0;
        for (int i = 0; i < n; i++) {
            sum = Math.fma(a[aOff + i], b[bOff + i], sum);
        }
        return sum;
    }

    @Override
    void scale(float[] x, int off, int n, float s) {
        for (int i = 0; i < n; i++) {
            x[off + i] *= s;
        }
    }

    @Override
    void add(float[] x, int xOff, float[] y, int yOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = x[xOff + i] + y[yOff + i];
        }
    }

    @Override
    void layerNorm(float[] x, int off, int n, float[] gamma, float[] beta, float eps) {
        float sum = 0;
        for (int i = 0; i < n; i++) {
            sum += x[off + i];
        }
        float mean = sum / n;
        float sq = 0;
        for (int i = 0; i < n; i++) {
            float dev = x[off + i] - mean;
            sq += dev * dev;
        }
        float inv = (float) (1.0 / Math.sqrt((double) (sq / n) + eps));
        for (int i = 0; i < n; i++) {
            x[off + i] = (x[off + i] - mean) * inv * gamma[i] + beta[i];
        }
    }

    @Override
    void softmax(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        if (max == Float.NEGATIVE_INFINITY) {
            java.util.Arrays.fill(x, off, off + n, 0f);
            return;
        }
        float sum = 0;
        for (int i = 0; i < n; i++) {
            float e = exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        scale(x, off, n, 1f / sum);
    }

    @Override
    void activation(float[] x, int off, int n, Activation activation) {
        for (int i = 0; i < n; i++) {
            x[off + i] = apply(x[off + i], activation);
        }
    }
}
