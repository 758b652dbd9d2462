package dev.jformers.cpu;

import dev.jformers.core.Activation;

import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The inner loops of {@link SimdBackend}, one implementation per vector width: {@link VectorKernels}
 * (Vector API, 128/256/512 bits) and {@link ScalarKernels} (plain loops). The backend does the
 * blocking, packing and threading; a kernel only ever sees heap arrays, never a MemorySegment, so
 * the JIT keeps its loops free of liveness checks and hoists the bounds checks.
 *
 * <p>Each width's vector kernels are a separate hidden class (see {@link VectorKernels}), so a JVM may
 * mix widths — the test suite does — and each keeps its own constant species and compiled code.
 */
abstract class Kernels {

    /**
     * Rows of the register tiles: the GEMM's 4 rows × 4 (512 bits) or 3 vectors (an 8 × 3 tile measured
     * 15% slower at 512 bits) and attention's blocks of 4 queries.
     */
    static final int MR = 4;

    /** Vectors per GEMM tile row below 512 bits: panel width NR = 3 · lanes (24 floats at 256 bits; 512 bits uses 4). */
    static final int NV = 3;

    /** The kernels for a vector width: 512, 256, 128, or {@link SimdBackend#SCALAR_BITS} for plain loops. */
    static Kernels forBits(int bits) {
        return switch (bits) {
            case 512, 256, 128 -> VECTOR_KERNELS.computeIfAbsent(bits, Kernels::defineVectorKernels);
            case SimdBackend.SCALAR_BITS -> new ScalarKernels();
            default -> throw new IllegalArgumentException("vector width must be 128, 256, 512 or "
                    + SimdBackend.SCALAR_BITS + " (scalar), got " + bits);
        };
    }

    /** One {@link VectorKernels} per width and JVM: each is a hidden class with its own compiled code. */
    private static final Map<Integer, Kernels> VECTOR_KERNELS = new ConcurrentHashMap<>();

    /** Defines the {@link VectorKernels} template as a hidden class whose class data is the species of that width. */
    private static Kernels defineVectorKernels(int bits) {
        VectorSpecies<Float> species = VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
        // The template's bytes, read as a resource: the template itself is never loaded the ordinary way
        // (its static initializer needs class data, which only a hidden class has).
        String file = "VectorKernels.class";
        try (InputStream in = Kernels.class.getResourceAsStream(file)) {
            if (in == null) {
                throw new IllegalStateException(file + " is missing from the class path");
            }
            MethodHandles.Lookup lookup = MethodHandles.lookup()
                    .defineHiddenClassWithClassData(in.readAllBytes(), species, true);
            return (Kernels) lookup.findConstructor(lookup.lookupClass(), MethodType.methodType(void.class)).invoke();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("cannot define the " + bits + "-bit vector kernels", e);
        }
    }

    /** Vector width in bits (32 for the scalar kernels). */
    abstract int bits();

    /** Floats per vector (1 for the scalar kernels). */
    abstract int lanes();

    /** Columns of a packed weight panel (NR): the width of the GEMM register tile. */
    abstract int panelWidth();

    /**
     * One register tile of C += A·B: {@code rows} (≤ {@link #MR}) rows by one whole packed panel. All
     * operands are arrays and the tile is always whole (C's scratch block is as wide as its panels),
     * so the vector code needs no masks.
     *
     * @param a A block, row-major: row r, column t at {@code a[aOff + r·lda + t]}
     * @param b packed panel: row t (of kc), column j at {@code b[bOff + t·panelWidth + j]}
     * @param c C block: row r, column j at {@code c[cOff + r·ldc + j]}, read, added to and written back
     */
    abstract void gemmTile(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] c, int cOff, int ldc, int rows);

    /**
     * The GEMV of decoding (M = 1) over whole panels: y[yOff + p·NR + j] += Σ_t x[xOff + t]·B[t][p·NR + j]
     * for panels p in [p0, p1) of a packed weight with k rows (panel p from {@code b[p·k·NR]}). Memory-bound:
     * the weight streams through once, so all that matters is keeping enough loads in flight.
     */
    void gemv(float[] x, int xOff, int k, float[] b, int p0, int p1, float[] y, int yOff) {
        int nr = panelWidth();
        for (int p = p0; p < p1; p++) {
            gemmTile(x, xOff, k, b, p * k * nr, k, y, yOff + p * nr, nr, 1);
        }
    }

    /** {@link #gemv} over panels kept in bfloat16 ({@link PackedLinear#halfPanels}): the same sums, half the bytes. */
    void gemvBf16(float[] x, int xOff, int k, short[] b, int p0, int p1, float[] y, int yOff) {
        int nr = panelWidth();
        for (int p = p0; p < p1; p++) {
            for (int j = 0; j < nr; j++) {
                float sum = 0f;
                for (int t = 0, bi = p * k * nr + j; t < k; t++, bi += nr) {
                    sum = Math.fma(x[xOff + t], bf16ToFloat(b[bi]), sum);
                }
                y[yOff + p * nr + j] += sum;
            }
        }
    }

    /**
     * {@link #gemv} over int8 panels ({@link PackedLinear#quantPanels}) with one scale per column and block of
     * {@link PackedLinear#QBLOCK} rows: each block's sum of x·q is multiplied by its scale row. Dequantising
     * as the weights stream in, so decoding reads one byte a weight (and 4 bytes of scale per 32).
     */
    void gemvInt8(float[] x, int xOff, int k, byte[] q, float[] scales, int p0, int p1, float[] y, int yOff) {
        int nr = panelWidth(), kBlocks = (k + PackedLinear.QBLOCK - 1) / PackedLinear.QBLOCK;
        for (int p = p0; p < p1; p++) {
            for (int j = 0; j < nr; j++) {
                float total = 0f;
                for (int t0 = 0; t0 < k; t0 += PackedLinear.QBLOCK) {
                    float sum = 0f;
                    for (int t = t0; t < Math.min(k, t0 + PackedLinear.QBLOCK); t++) {
                        sum = Math.fma(x[xOff + t], q[(p * k + t) * nr + j], sum);
                    }
                    total = Math.fma(sum, scales[(p * kBlocks + t0 / PackedLinear.QBLOCK) * nr + j], total);
                }
                y[yOff + p * nr + j] += total;
            }
        }
    }

    /**
     * dst[dstOff + r·NR + j] = q[qOff + r·NR + j] · scales[sOff + j] for {@code rows} panel rows that share one
     * scale row: int8 panel rows back to floats, for the GEMM's K blocks (see {@link PackedLinear#dequantise}).
     */
    void dequantInt8(byte[] q, int qOff, float[] scales, int sOff, int rows, float[] dst, int dstOff) {
        int nr = panelWidth();
        for (int i = 0; i < rows * nr; i++) {
            dst[dstOff + i] = q[qOff + i] * scales[sOff + i % nr];
        }
    }

    /** dst[dstOff..+n) = the bfloat16 values src[srcOff..+n) as floats. */
    void widenBf16(short[] src, int srcOff, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = bf16ToFloat(src[srcOff + i]);
        }
    }

    /** A bfloat16 is the high 16 bits of a float: widening is exact. */
    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /** The nearest bfloat16 (ties to even), as PyTorch rounds; NaN stays NaN. */
    static short toBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40);   // quiet, keeps the sign
        }
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    /** out[o..o+n) = x[xOff..xOff+k) · M, M row-major [k × n] at {@code m[mOff + t·ld + j]}. */
    abstract void vecMat(float[] x, int xOff, int k, float[] m, int mOff, int ld, int n, float[] out, int outOff);

    /**
     * C = A·B for a few rows: C[r, j] = Σ_t A[r, t]·B[t, j] for r < rows, j < n, t < k, C overwritten.
     * All row-major with any leading dimensions — A at {@code a[aOff + r·lda + t]}, B at
     * {@code b[bOff + t·ldb + j]}, C at {@code c[cOff + r·ldc + j]} — so B can be a head's slice of a
     * [T, C] tensor read in place. Register tiles of 4 rows share each load of B: attention's
     * scores (Q·Kᵀ with Kᵀ gathered) and context (P·V) and {@code matmul}.
     */
    abstract void matMulRows(float[] a, int aOff, int lda, int rows, int k, float[] b, int bOff, int ldb, int n,
                             float[] c, int cOff, int ldc);

    /**
     * dst[c·ldd + r] = scale · src[srcOff + r·srcStride + c] for r < rows, c < cols: a [rows × cols]
     * block (rows strided) transposed into a row-major [cols × ldd] array, 8 source rows at a time so
     * that they stay in L1 while each destination row gets 8 consecutive floats.
     */
    static void transpose(float[] src, int srcOff, int srcStride, int rows, int cols, float[] dst, int ldd, float scale) {
        transpose(src, srcOff, srcStride, rows, cols, dst, 0, ldd, scale);
    }

    /** {@link #transpose} into dst from {@code dstOff}: dst[dstOff + c·ldd + r]. */
    static void transpose(float[] src, int srcOff, int srcStride, int rows, int cols, float[] dst, int dstOff, int ldd,
                          float scale) {
        int r0 = 0;
        for (; r0 + 8 <= rows; r0 += 8) {
            int s0 = srcOff + r0 * srcStride;
            for (int c = 0; c < cols; c++) {
                int d = dstOff + c * ldd + r0, s = s0 + c;
                dst[d] = scale * src[s];
                dst[d + 1] = scale * src[s + srcStride];
                dst[d + 2] = scale * src[s + 2 * srcStride];
                dst[d + 3] = scale * src[s + 3 * srcStride];
                dst[d + 4] = scale * src[s + 4 * srcStride];
                dst[d + 5] = scale * src[s + 5 * srcStride];
                dst[d + 6] = scale * src[s + 6 * srcStride];
                dst[d + 7] = scale * src[s + 7 * srcStride];
            }
        }
        for (; r0 < rows; r0++) {
            for (int c = 0, s = srcOff + r0 * srcStride; c < cols; c++) {
                dst[dstOff + c * ldd + r0] = scale * src[s + c];
            }
        }
    }

    /**
     * One cached position for several heads side by side: out[pOff + h·pStride] = scale · (q_h · k_h) for
     * h < heads, where q_h = q[qOff + h·d …] and k_h = k[kOff + h·d …] (d floats each); each width's
     * {@link #dot} does the work.
     */
    final void headDots(float[] q, int qOff, float[] k, int kOff, int heads, int d, float scale,
                        float[] out, int pOff, int pStride) {
        for (int h = 0; h < heads; h++) {
            out[pOff + h * pStride] = dot(q, qOff + h * d, k, kOff + h * d, d) * scale;
        }
    }

    /** The other half: y_h += p[pOff + h·pStride] · v_h for h < heads, v_h = v[vOff + h·d …], y_h = y[yOff + h·d …]. */
    abstract void headAxpys(float[] p, int pOff, int pStride, float[] v, int vOff, float[] y, int yOff, int heads, int d);

    /** Σ a[aOff + i]·b[bOff + i] for i < n. */
    abstract float dot(float[] a, int aOff, float[] b, int bOff, int n);

    /** x[off..off+n) *= s. */
    abstract void scale(float[] x, int off, int n, float s);

    /** out[outOff..outOff+n) = x[xOff..xOff+n) + y[yOff..yOff+n). */
    abstract void add(float[] x, int xOff, float[] y, int yOff, float[] out, int outOff, int n);

    /** In place: (x − mean)/√(var + eps)·gamma + beta over x[off..off+n), two passes (mean, then variance). */
    abstract void layerNorm(float[] x, int off, int n, float[] gamma, float[] beta, float eps);

    /** In place softmax of x[off..off+n); a row whose scores are all −∞ becomes zeros (as ScalarBackend). */
    abstract void softmax(float[] x, int off, int n);

    /** In place activation of x[off..off+n). */
    abstract void activation(float[] x, int off, int n, Activation activation);

    // ---------------------------------------------------------------- backward inner loops
    // Plain loops here (ScalarKernels uses them, and VectorKernels for its tails); VectorKernels overrides
    // each with whole vectors.

    /** out[outOff..outOff+n) = x[xOff..) · y[yOff..), element by element. */
    void multiply(float[] x, int xOff, float[] y, int yOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = x[xOff + i] * y[yOff + i];
        }
    }

    /** dx = dy·act′(x) over n elements. */
    void activationBackward(float[] dy, int dyOff, float[] x, int xOff, float[] dx, int dxOff, int n,
                            Activation activation) {
        for (int i = 0; i < n; i++) {
            dx[dxOff + i] = dy[dyOff + i] * derivative(x[xOff + i], activation);
        }
    }

    /**
     * One row of layer norm's backward (see TrainingKernels.layerNormBackward): dx written, dy·x̂ added to
     * dGamma[0..n) and dy to dBeta[0..n).
     */
    void layerNormBackward(float[] dy, int dyOff, float[] x, int xOff, int n, float[] gamma, float eps,
                           float[] dx, int dxOff, float[] dGamma, float[] dBeta) {
        float sum = 0;
        for (int i = 0; i < n; i++) {
            sum += x[xOff + i];
        }
        float mean = sum / n, sq = 0;
        for (int i = 0; i < n; i++) {
            float dev = x[xOff + i] - mean;
            sq += dev * dev;
        }
        float inv = (float) (1.0 / Math.sqrt((double) (sq / n) + eps));
        float sumG = 0, sumGx = 0;
        for (int i = 0; i < n; i++) {
            float xHat = (x[xOff + i] - mean) * inv, g = dy[dyOff + i];
            sumG += g * gamma[i];
            sumGx += g * gamma[i] * xHat;
            dGamma[i] += g * xHat;
            dBeta[i] += g;
        }
        float meanG = sumG / n, meanGx = sumGx / n;
        for (int i = 0; i < n; i++) {
            float xHat = (x[xOff + i] - mean) * inv;
            dx[dxOff + i] = inv * (dy[dyOff + i] * gamma[i] - meanG - xHat * meanGx);
        }
    }

    /** Softmax backward of one row from its output y: dx = scale·y·(dy − Σ dy·y). */
    void softmaxBackward(float[] dy, int dyOff, float[] y, int yOff, float[] dx, int dxOff, int n, float scale) {
        float dot = dot(dy, dyOff, y, yOff, n);
        for (int i = 0; i < n; i++) {
            dx[dxOff + i] = scale * y[yOff + i] * (dy[dyOff + i] - dot);
        }
    }

    /** log Σ exp(z[off..off+n)): the max first, then the sum of exp(z − max) (−∞ for an empty or all −∞ row). */
    float logSumExp(float[] z, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, z[off + i]);
        }
        if (max == Float.NEGATIVE_INFINITY) {
            return max;
        }
        float sum = 0;
        for (int i = 0; i < n; i++) {
            sum += (float) Math.exp(z[off + i] - max);
        }
        return max + (float) Math.log(sum);
    }

    /** dz[dzOff + j] = factor·exp(z[zOff + j] − lse) for j < n: a row of softmax, scaled. */
    void scaledSoftmax(float[] z, int zOff, float lse, float factor, float[] dz, int dzOff, int n) {
        for (int i = 0; i < n; i++) {
            dz[dzOff + i] = factor * (float) Math.exp(z[zOff + i] - lse);
        }
    }

    /** The derivative of each activation at x, in float (TrainingKernels.derivative has it in double). */
    static float derivative(float x, Activation activation) {
        return switch (activation) {
            case GELU -> {   // Φ(x) + x·φ(x)
                float e = erfc(Math.abs(x) * INV_SQRT2);
                float cdf = 0.5f * (x >= 0 ? 2f - e : e);
                yield cdf + x * INV_SQRT_2PI * (float) Math.exp(-0.5f * x * x);
            }
            case GELU_TANH -> {   // s = sigmoid(2u): 0.5·(1 + tanh u) = s, 1 − tanh² u = 4s(1 − s)
                float u = SQRT_2_OVER_PI * (x + 0.044715f * x * x * x);
                float sg = 1f / (1f + (float) Math.exp(-2f * u));
                yield sg + 2f * x * sg * (1f - sg) * SQRT_2_OVER_PI * (1f + 3 * 0.044715f * x * x);
            }
            case RELU -> x > 0 ? 1f : 0f;
            case TANH -> {
                float t = (float) Math.tanh(x);
                yield 1f - t * t;
            }
            case SILU -> {
                float sg = 1f / (1f + (float) Math.exp(-x));
                yield sg * (1f + x * (1f - sg));
            }
        };
    }

    static final float INV_SQRT_2PI = 0.39894228040143268f;

    // ---------------------------------------------------------------- scalar formulas shared by tails

    static final float INV_SQRT2 = 0.70710678118654752f;
    static final float SQRT_2_OVER_PI = 0.79788456080286536f;

    /**
     * erfc(z) for z ≥ 0 with relative error below 1.2e-7 everywhere (Numerical Recipes' Chebyshev
     * fit "erfcc"): t·exp(−z² + P(t)), t = 1/(1 + z/2). Relative accuracy in erfc (not just absolute
     * accuracy in erf) keeps GELU of large negative inputs accurate as well.
     */
    static float erfc(float z) {
        float t = 1f / (1f + 0.5f * z);
        float p = ERFC_C[0];
        for (int i = 1; i < ERFC_C.length; i++) {
            p = p * t + ERFC_C[i];
        }
        return t * (float) Math.exp(p - z * z);
    }

    /** P(t) coefficients of {@link #erfc}, highest power first (Horner order). */
    static final float[] ERFC_C = {
        0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f,
        -0.18628806f, 0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f};

    /** erf(x) from {@link #erfc}; absolute error about 1e-7. */
    static float erf(float x) {
        float e = erfc(Math.abs(x));
        return x >= 0 ? 1f - e : e - 1f;
    }

    static float gelu(float x) {
        float e = erfc(Math.abs(x) * INV_SQRT2);          // 1 + erf(x/√2) = 2 − erfc(|x|/√2) for x ≥ 0, erfc for x < 0
        return 0.5f * x * (x >= 0 ? 2f - e : e);
    }

    /** 0.5·x·(1 + tanh(u)) = x / (1 + e^(−2u)), u = √(2/π)(x + 0.044715x³). */
    static float geluTanh(float x) {
        float u = SQRT_2_OVER_PI * (x + 0.044715f * x * x * x);
        return x / (1f + (float) Math.exp(-2f * u));
    }

    static float silu(float x) {
        return x / (1f + (float) Math.exp(-x));
    }

    static float apply(float x, Activation activation) {
        return switch (activation) {
            case GELU -> gelu(x);
            case GELU_TANH -> geluTanh(x);
            case RELU -> Math.max(0f, x);
            case TANH -> (float) Math.tanh(x);
            case SILU -> silu(x);
        };
    }
}
