package dev.jformers.cpu;

import dev.jformers.core.AdamWStep;
import dev.jformers.core.Activation;

import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Arrays;
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

    /** Rows of {@link #gemmTile6From}'s tile: 6 where this width has one, else 0 (the GEMM then uses {@link #gemmTile} alone). */
    int sixRowTiles() {
        return 0;
    }

    /**
     * {@link #gemmTile} over 6 rows (one whole panel), with the same sums in the same order: the GEMMs' main tile where
     * a width has it (VectorKernels at 512 bits, as the next two). Its accumulators start from
     * {@code init[initOff + r·initLd + j]} — C itself (init = c, initOff = cOff, initLd = ldc), or in a GEMM's first
     * K block the bias (initLd = 0) — and are written to C: the sums of copying those rows into C first, without the copy.
     */
    void gemmTile6From(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] init, int initOff, int initLd,
                       float[] c, int cOff, int ldc) {
        throw new UnsupportedOperationException("no 6-row tile at " + bits() + " bits");
    }

    /**
     * 1 to {@link #MR} − 1 rows with the tile's arithmetic (one accumulator per output, the FMAs in the order of t), not
     * the one-row loop's: the same bits as those rows get in a 4- or 6-row tile; starting from {@code init}, as
     * {@link #gemmTile6From}.
     */
    void gemmTileShortFrom(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] init, int initOff, int initLd,
                           float[] c, int cOff, int ldc, int rows) {
        throw new UnsupportedOperationException("no short tile at " + bits() + " bits");
    }

    /** {@link #gemmTile} (4-row tiles, then the one-row loop) starting from {@code init}, as {@link #gemmTile6From}. */
    void gemmTileFrom(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] init, int initOff, int initLd,
                      float[] c, int cOff, int ldc, int rows) {
        throw new UnsupportedOperationException("no tile from an initial block at " + bits() + " bits");
    }

    /**
     * {@link #gemmTile} with A given transposed: row r, column t at {@code at[aOff + t·lda + r]} (a gradient's
     * dW = dyᵀ·x reads dy [N, out] in place, no transposed copy). Here: the block copied row-major, then
     * {@link #gemmTile}; VectorKernels reads whole 4-row tiles in place.
     */
    void gemmTileTransposed(float[] at, int aOff, int lda, float[] b, int bOff, int kc, float[] c, int cOff, int ldc,
                            int rows) {
        float[] a = new float[rows * kc];
        for (int t = 0; t < kc; t++) {
            for (int r = 0; r < rows; r++) {
                a[r * kc + t] = at[aOff + t * lda + r];
            }
        }
        gemmTile(a, 0, kc, b, bOff, kc, c, cOff, ldc, rows);
    }

    /**
     * {@link #gemmTileTransposed} over one strip of {@link #packTransposedA} ({@code height} rows a step: lda = height,
     * at most that many rows): its own method, so that its tile is compiled apart from the in-place one (both in one
     * method: the in-place tile ran 10× slower, probably the JIT's budget for one compilation spent).
     */
    void gemmTileStrip(float[] strip, int aOff, int height, float[] b, int bOff, int kc, float[] c, int cOff, int ldc, int rows) {
        gemmTileTransposed(strip, aOff, height, b, bOff, kc, c, cOff, ldc, rows);
    }

    /**
     * Rows t of a transposed A (row r, column t at {@code at[aOff + t·lda + r]}, r < rows, t < steps) into strips of
     * {@code height} rows ({@link #MR}, or 6 where {@link #sixRowTiles} says so), as {@link #gemmTileTransposed} reads
     * them with lda = height: row r, column t at {@code dst[dstOff + (r / height)·stripStride + t·height + r % height]}.
     * A last, partial strip leaves its missing rows unwritten.
     */
    void packTransposedA(float[] at, int aOff, int lda, int rows, int steps, float[] dst, int dstOff, int stripStride, int height) {
        for (int t = 0; t < steps; t++) {
            for (int r = 0; r < rows; r++) {
                dst[dstOff + (r / height) * stripStride + t * height + r % height] = at[aOff + t * lda + r];
            }
        }
    }

    /**
     * The GEMV of decoding (M = 1) over whole panels: y[yOff + p·NR + j] = base[baseOff + p·NR + j] +
     * Σ_t x[xOff + t]·B[t][p·NR + j] for panels p in [p0, p1) of a packed weight with k rows (panel p from
     * {@code b[p·k·NR]}); base is y itself (at yOff) to accumulate, or the bias (at 0), which is then read as the sums
     * are stored instead of copied into y first (a pass over y less: 200 KB for GPT-2's LM head every token). The
     * same add as y = bias, then y += sums. Memory-bound: the weight streams through once, so all that matters is
     * keeping enough loads in flight.
     */
    void gemv(float[] x, int xOff, int k, float[] b, int p0, int p1, float[] y, int yOff, float[] base, int baseOff) {
        int nr = panelWidth();
        for (int p = p0; p < p1; p++) {
            if (base != y || baseOff != yOff) {
                System.arraycopy(base, baseOff + p * nr, y, yOff + p * nr, nr);
            }
            gemmTile(x, xOff, k, b, p * k * nr, k, y, yOff + p * nr, nr, 1);
        }
    }

    /** {@link #gemv} over panels kept in bfloat16 ({@link PackedLinear#halfPanels}): the same sums, half the bytes. */
    void gemvBf16(float[] x, int xOff, int k, short[] b, int p0, int p1, float[] y, int yOff, float[] base, int baseOff) {
        int nr = panelWidth();
        for (int p = p0; p < p1; p++) {
            for (int j = 0; j < nr; j++) {
                float sum = 0f;
                for (int t = 0, bi = p * k * nr + j; t < k; t++, bi += nr) {
                    sum = Math.fma(x[xOff + t], bf16ToFloat(b[bi]), sum);
                }
                y[yOff + p * nr + j] = base[baseOff + p * nr + j] + sum;
            }
        }
    }

    /**
     * {@link #gemv} over int8 panels ({@link PackedLinear#quantPanels}) with one scale per column and block of
     * {@link PackedLinear#QBLOCK} rows: each block's sum of x·q is multiplied by its scale row. Dequantising
     * as the weights stream in, so decoding reads one byte a weight (and a 16-bit scale per 32).
     */
    void gemvInt8(float[] x, int xOff, int k, byte[] q, int[] scales, int p0, int p1, float[] y, int yOff, float[] base,
                  int baseOff) {
        int nr = panelWidth(), kBlocks = (k + PackedLinear.QBLOCK - 1) / PackedLinear.QBLOCK;
        int sr = PackedLinear.scaleInts(nr);
        for (int p = p0; p < p1; p++) {
            for (int j = 0; j < nr; j++) {
                float total = 0f;
                for (int t0 = 0; t0 < k; t0 += PackedLinear.QBLOCK) {
                    float sum = 0f;
                    for (int t = t0; t < Math.min(k, t0 + PackedLinear.QBLOCK); t++) {
                        sum = Math.fma(x[xOff + t], q[(p * k + t) * nr + j], sum);
                    }
                    total = Math.fma(sum, PackedLinear.scale(scales, (p * kBlocks + t0 / PackedLinear.QBLOCK) * sr, j), total);
                }
                y[yOff + p * nr + j] = base[baseOff + p * nr + j] + total;
            }
        }
    }

    /**
     * dst[dstOff + r·NR + j] = q[qOff + r·NR + j] · {@link PackedLinear#scale}(scales, sOff, j) for {@code rows} panel rows that share one
     * scale row: int8 panel rows back to floats, for the GEMM's K blocks (see {@link PackedLinear#dequantise}).
     */
    void dequantInt8(byte[] q, int qOff, int[] scales, int sOff, int rows, float[] dst, int dstOff) {
        int nr = panelWidth();
        for (int i = 0; i < rows * nr; i++) {
            dst[dstOff + i] = q[qOff + i] * PackedLinear.scale(scales, sOff, i % nr);
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
     * C = Aᵀ·B for A given as stored, [k × rows] row-major: C[r, j] = Σ_t A[t, r]·B[t, j], A at
     * {@code a[aOff + t·lda + r]}, B and C as in {@link #matMulRows}, with the same bits as
     * {@link #matMulRows} over a transposed copy of A (each C element sums over t in order). Attention's
     * backward: dVᵀ = dCᵀ·P and dKᵀ = Qᵀ·dS with dC and Q read in place, no transposed copy of anything.
     */
    abstract void matMulTransposedRows(float[] a, int aOff, int lda, int rows, int k, float[] b, int bOff, int ldb,
                                       int n, float[] c, int cOff, int ldc);

    /**
     * Query rows per block of {@link #attentionBlock}: two per lane of a vector (two vectors of queries); 0 where this
     * width has no such kernel (the scalar kernels), and attention takes its blocks of {@link #MR} rows.
     */
    int attentionBlockRows() {
        return 0;
    }

    /** Floats of {@link #attentionBlock}'s work array for a head of width d over {@code keys} keys. */
    int attentionWorkFloats(int d, int keys) {
        return 0;
    }

    /**
     * dst[r·cols + c] = scale · src[srcOff + r·srcStride + c] for r &lt; rows, c &lt; cols: a head's keys scaled,
     * row-major and contiguous, as {@link #attentionBlock} reads them (not transposed).
     */
    void scaledCopy(float[] src, int srcOff, int srcStride, int rows, int cols, float scale, float[] dst) {
        throw new UnsupportedOperationException("no attention blocks at " + bits() + " bits");
    }

    /**
     * Attention for a block of up to {@link #attentionBlockRows} query rows of one head with no causal mask:
     * context rows c[cOff + r·ldc + j] = Σ_i P[r, i]·V[i, j] for r &lt; rows, j &lt; d, where P = softmax over the
     * {@code keys} keys of the scores Σ_t q_r[t]·kS[i·d + t] (+ bias[biasOff + i] where bias is not null); q_r at
     * q[qOff + r·qStride], V at v[vOff + i·vStride]. The same bits as the blocks of {@link #MR} rows (scores by
     * {@link #matMulRows} over Kᵀ scaled, then {@link #add} of the bias, {@link #softmax} of each row, P·V by
     * {@link #matMulRows}). {@code work}: {@link #attentionWorkFloats} floats.
     */
    void attentionBlock(float[] q, int qOff, int qStride, int rows, float[] kS, int keys, int d, float[] bias,
                        int biasOff, float[] v, int vOff, int vStride, float[] c, int cOff, int ldc, float[] work) {
        throw new UnsupportedOperationException("no attention blocks at " + bits() + " bits");
    }

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

    /**
     * A chunk of cached positions at once: y_h = Σ_j p[pOff + h·pStride + j] · v_h(j) for j &lt; count, from zero, in
     * order of j (v_h(j) = v[vOff + j·vStride + h·d …]) — {@link #headAxpys} position by position into a zeroed row,
     * which is what this does; a width may keep the sums in registers instead (the same FMAs in the same order).
     */
    void chunkAxpys(float[] p, int pOff, int pStride, int count, float[] v, int vOff, int vStride, float[] y, int yOff,
                    int heads, int d) {
        Arrays.fill(y, yOff, yOff + heads * d, 0f);
        for (int j = 0; j < count; j++) {
            headAxpys(p, pOff + j, pStride, v, vOff + j * vStride, y, yOff, heads, d);
        }
    }

    /** Σ a[aOff + i]·b[bOff + i] for i < n. */
    abstract float dot(float[] a, int aOff, float[] b, int bOff, int n);

    /** x[off..off+n) *= s. */
    abstract void scale(float[] x, int off, int n, float s);

    /** out[outOff..outOff+n) = x[xOff..xOff+n) + y[yOff..yOff+n). */
    abstract void add(float[] x, int xOff, float[] y, int yOff, float[] out, int outOff, int n);

    /** In place: (x − mean)/√(var + eps)·gamma + beta over x[off..off+n), two passes (mean, then variance). */
    abstract void layerNorm(float[] x, int off, int n, float[] gamma, float[] beta, float eps);

    /**
     * {@code rows} rows of n floats, y's from yOff and the residual's from resOff (row r at + r·n): y += the residual's
     * row, then {@link #layerNorm} in place — {@link #add} and layerNorm row after row. (VectorKernels interleaves
     * rows, each row getting the same operations in the same order: the same bits.)
     */
    void addLayerNormRows(float[] y, int yOff, float[] residual, int resOff, int n, int rows, float[] gamma, float[] beta,
                          float eps) {
        for (int r = 0; r < rows; r++) {
            add(y, yOff + r * n, residual, resOff + r * n, y, yOff + r * n, n);
            layerNorm(y, yOff + r * n, n, gamma, beta, eps);
        }
    }

    /** In place softmax of x[off..off+n); a row whose scores are all −∞ becomes zeros (as ScalarBackend). */
    abstract void softmax(float[] x, int off, int n);

    /** In place activation of x[off..off+n). */
    abstract void activation(float[] x, int off, int n, Activation activation);

    // ---------------------------------------------------------------- backward inner loops
    // Plain loops here (ScalarKernels uses them, and VectorKernels for its tails); VectorKernels overrides
    // each with whole vectors.

    /** {@link AdamWStep#apply} over [from, to): the reference loop, which VectorKernels does in whole vectors. */
    void adamW(AdamWStep step, float[] w, float[] g, int off, float[] m, float[] v, int from, int to) {
        step.apply(w, g, off, m, v, from, to);
    }

    /** out[outOff..outOff+n) = x[xOff..) · y[yOff..), element by element. */
    void multiply(float[] x, int xOff, float[] y, int yOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = x[xOff + i] * y[yOff + i];
        }
    }

    /** dx = dy·act′(x) over n elements; dx must not overlap dy or x (the SIMD GELU writes a first pass into dx). */
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
            sum += exp(z[off + i] - max);
        }
        return max + (float) Math.log(sum);
    }

    /** dz[dzOff + j] = factor·exp(z[zOff + j] − lse) for j < n: a row of softmax, scaled. */
    void scaledSoftmax(float[] z, int zOff, float lse, float factor, float[] dz, int dzOff, int n) {
        for (int i = 0; i < n; i++) {
            dz[dzOff + i] = factor * exp(z[zOff + i] - lse);
        }
    }

    /** The derivative of each activation at x, in float (TrainingKernels.derivative has it in double). */
    static float derivative(float x, Activation activation) {
        return switch (activation) {
            case GELU -> {   // Φ(x) + x·φ(x): one Gaussian for both
                float g = gaussian(x);
                yield Math.fma(x * INV_SQRT_2PI, g, normalCdf(x, g));
            }
            case GELU_TANH -> {   // s = sigmoid(2u): 0.5·(1 + tanh u) = s, 1 − tanh² u = 4s(1 − s)
                float u = SQRT_2_OVER_PI * (x + 0.044715f * x * x * x);
                float sg = 1f / (1f + exp(-2f * u));
                yield sg + 2f * x * sg * (1f - sg) * SQRT_2_OVER_PI * (1f + 3 * 0.044715f * x * x);
            }
            case RELU -> x > 0 ? 1f : 0f;
            case TANH -> {
                float t = tanh(x);
                yield 1f - t * t;
            }
            case SILU -> {
                float sg = 1f / (1f + exp(-x));
                yield sg * (1f + x * (1f - sg));
            }
        };
    }

    static final float INV_SQRT_2PI = 0.39894228040143268f;

    // ---------------------------------------------------------------- deterministic exp and tanh
    //
    // The Vector API's EXP and TANH are not deterministic: C2 compiles them to Intel's SVML routines,
    // while code that runs before C2 has compiled it (interpreter, C1) takes a Java fallback that calls
    // Math.exp lane by lane, and the two differ in the last bit for some inputs. Two runs of the same
    // training steps then differed in the 7th digit. These functions use only operations IEEE 754
    // specifies exactly (+, ×, fma, division, compares, integer shifts), so every execution mode gives the
    // same bits — and VectorKernels' vector versions do the same operations in the same order, so a tail
    // element gets exactly what it would get in a vector lane, whatever the width.

    /** Inputs are clamped to [EXP_MIN, EXP_MAX]: e^EXP_MIN rounds to 0 and e^EXP_MAX overflows to ∞ anyway. */
    static final float EXP_MIN = -104f, EXP_MAX = 89f;
    static final float LOG2E = 1.44269504088896341f;
    /** ln 2 = LN2_HI + LN2_LO: the nearest float and the rest, for the FMA range reduction. */
    static final float LN2_HI = 0.693147182464599609375f, LN2_LO = -1.90465429995776770e-9f;
    /** 1.5·2²³: adding it rounds a float below 2²² to an integer, found in its low mantissa bits. */
    static final float ROUNDER = 12582912f;
    static final int ROUNDER_BITS = 0x4B400000;
    /** Cephes' expf polynomial: e^r ≈ 1 + r + r²·P(r) on |r| ≤ ln2/2, highest power first. */
    static final float[] EXP_P = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f,
        1.6666665459e-1f, 5.0000001201e-1f};

    static {   // the exp is written out with p0 … p5 in softmaxInLanes, geluLoop and geluBackwardLoop (VectorKernels)
        if (EXP_P.length != 6) {
            throw new AssertionError("VectorKernels' written-out exps assume six EXP_P coefficients");
        }
    }

    /**
     * e^x within 1 ulp of the correctly rounded result (tested over [−105, 89] in DeterministicMathTest),
     * subnormal results and overflow to ∞ included, NaN kept. x = n·ln2 + r with n = rint(x·log2 e), so
     * e^x = 2^n·e^r, |r| ≤ ln2/2 (see {@link #expReduced}).
     */
    static float exp(float x) {
        float xc = x > EXP_MAX ? EXP_MAX : x < EXP_MIN ? EXP_MIN : x;   // NaN stays NaN
        float k = Math.fma(xc, LOG2E, ROUNDER);
        float n = k - ROUNDER;
        return expReduced(Math.fma(n, -LN2_LO, Math.fma(n, -LN2_HI, xc)), k);
    }

    /** e^(hi + lo) for an argument held as two floats, |lo| small: the reduction takes lo into r exactly enough. */
    static float expOfSum(float hi, float lo) {
        float hc = hi > EXP_MAX ? EXP_MAX : hi < EXP_MIN ? EXP_MIN : hi;
        float k = Math.fma(hc + lo, LOG2E, ROUNDER);
        float n = k - ROUNDER;
        return expReduced(Math.fma(n, -LN2_LO, Math.fma(n, -LN2_HI, hc) + lo), k);
    }

    /**
     * 2^n·e^r for |r| ≤ ln2/2, n in k's low mantissa bits ({@link #ROUNDER}). 2^n is applied as
     * 2^(n/2)·2^(n − n/2), so that each factor is a normal float even where e^x is subnormal (n down
     * to −152) or 2^n alone would overflow (n = 128); the one rounding is the last product's.
     */
    static float expReduced(float r, float k) {
        float p = EXP_P[0];
        for (int i = 1; i < EXP_P.length; i++) {
            p = Math.fma(p, r, EXP_P[i]);
        }
        float e = Math.fma(p, r * r, r) + 1f;
        int ni = Float.floatToRawIntBits(k) - ROUNDER_BITS, n1 = ni >> 1;
        return e * Float.intBitsToFloat((n1 + 127) << 23) * Float.intBitsToFloat((ni - n1 + 127) << 23);
    }

    /** |x| below this: tanh by its odd polynomial; above, through exp (no cancellation left there). */
    static final float TANH_SMALL = 0.625f;
    /** Cephes' tanhf: tanh x ≈ x + x³·Q(x²) for |x| < 0.625, highest power first. */
    static final float[] TANH_Q = {-5.70498872745e-3f, 2.06390887954e-2f, -5.37397155531e-2f, 1.33314422036e-1f,
        -3.33332819422e-1f};

    /** tanh x within 2 ulp, from {@link #exp}: |tanh| computed from |x|, then x's sign (−0 stays −0). */
    static float tanh(float x) {
        float a = Math.abs(x);
        float big = 1f - 2f / (exp(a + a) + 1f);
        float z = a * a, q = TANH_Q[0];
        for (int i = 1; i < TANH_Q.length; i++) {
            q = Math.fma(q, z, TANH_Q[i]);
        }
        float magnitude = a >= TANH_SMALL ? big : Math.fma(q * z, a, a);
        return Math.copySign(magnitude, x);
    }

    // ---------------------------------------------------------------- GELU (erf form), scalar twin of VectorKernels'

    static final float SQRT_2_OVER_PI = 0.79788456080286536f;

    /**
     * GELU's tail table. H(a) = a·Φ(−a)·e^(a²/2), so that GELU(−a) = −a·Φ(−a) = −H(a)·e^(−a²/2): H is
     * smooth (0 at 0, 0.40 at 13) and needs no division (erfc's usual t = 1/(1 + z/2) costs a division, and
     * its rounding alone moves erfc by up to 2 ulp). One polynomial of degree 8 per interval — [0, 0.25) and
     * the binades [2^e, 2^(e+1)) for e = −2 … 3, the last cut at 13.25 — in d = a − centre (exact: the centre
     * is 0 or 1.5·2^e), fitted with mpmath to a relative error below 2e−8 with these float coefficients
     * (on [0, 0.25) H = a·q(a): constant term 0). Rows: the coefficients of d⁸ … d¹, the constant term as the
     * nearest float and the rest, the centre; a column per interval.
     */
    static final float[][] GELU_TAIL = {
        {-2.713073744e-03f, -1.247644541e-03f, -4.385326174e-04f, -6.512019900e-05f, -2.633826398e-06f, -2.286110146e-08f, -1.496599372e-10f},
        {1.000106521e-02f, 3.619870404e-03f, 1.348932157e-03f, 2.252085978e-04f, 1.137292111e-05f, 1.438578892e-07f, -1.587479731e-10f},
        {-2.651054785e-02f, -9.833862074e-03f, -3.872943809e-03f, -7.125412812e-04f, -4.247556353e-05f, -7.160936093e-07f, -6.233126459e-09f},
        {6.249009073e-02f, 2.479573525e-02f, 1.047198288e-02f, 2.209084341e-03f, 1.701738802e-04f, 4.403294042e-06f, 5.622984389e-08f},
        {-1.329801381e-01f, -5.691945180e-02f, -2.591435611e-02f, -6.331588607e-03f, -6.420026184e-04f, -2.616323582e-05f, -5.780994456e-07f},
        {2.499999851e-01f, 1.162594333e-01f, 5.744002387e-02f, 1.644151658e-02f, 2.225109609e-03f, 1.434674923e-04f, 5.804728971e-06f},
        {-3.989422917e-01f, -2.034563124e-01f, -1.100529879e-01f, -3.749096394e-02f, -6.931448821e-03f, -7.235305966e-04f, -5.398165376e-05f},
        {5.000000000e-01f, 2.833829522e-01f, 1.699065119e-01f, 7.037374377e-02f, 1.831262186e-02f, 3.180918051e-03f, 4.434408038e-04f},
        {0.000000000e+00f, 1.423516572e-01f, 2.251743525e-01f, 3.086709976e-01f, 3.645418584e-01f, 3.886758983e-01f, 3.962276578e-01f},
        {0.000000000e+00f, 3.298642914e-09f, -5.772240463e-09f, 2.812590383e-09f, -1.395981020e-08f, -1.447170206e-08f, -4.565754441e-09f},
        {0.000000000e+00f, 3.750000000e-01f, 7.500000000e-01f, 1.500000000e+00f, 3.000000000e+00f, 6.000000000e+00f, 1.200000000e+01f}};

    static final int TAIL_DEGREE = 8, TAIL_C0 = 8, TAIL_C0_LO = 9, TAIL_CENTRE = 10, TAIL_INTERVALS = 7;

    /** |x| beyond this is taken as this (the table's end), and beyond {@link #GELU_FLUSH} GELU(−|x|) is −0. */
    static final float GELU_TAIL_MAX = 13.25f;

    /**
     * GELU(−a) is subnormal from about here (−5.9e−39 at a = 13.2) and is returned as −0: that keeps 2^n in
     * e^(−a²/2) = 2^n·e^r a normal float, applied by one multiplication (PyTorch's float GELU is 0 from −5.9).
     */
    static final float GELU_FLUSH = 13.15f;

    /**
     * The interval of a ≥ 0 by its bits: 0 below 0.25, then one per binade, the clamp landing in the last.
     * (NaN, too. VectorKernels takes max(exponent bits, 124) as the row's slot and lets its lane permutation
     * wrap it: a NaN lane stays NaN whatever coefficients it gets, and so does a lane past 13.25 in its
     * forward, which leaves out the clamp of a; the flush to −0 replaces that lane's result.)
     */
    static int tailInterval(int bits) {
        return Math.min(TAIL_INTERVALS - 1, Math.max(0, (bits >>> 23) - 124));
    }

    /** The coefficients of d⁸ … d¹ by Horner: H(a) = c0 + d·tailSlope. */
    static float tailSlope(float d, int interval) {
        float q = GELU_TAIL[0][interval];
        for (int i = 1; i < TAIL_DEGREE; i++) {
            q = Math.fma(q, d, GELU_TAIL[i][interval]);
        }
        return q;
    }

    /**
     * GELU(−a) = −H(a)·e^(−a²/2), a = |x|, with one rounding that matters: H is carried as H + Hl, H = c0 + d·q
     * rounded once (an FMA) and Hl its rounding error, fma(d, q, c0 − H) (c0 − H is exact: |d·q| ≤ 0.35·c0),
     * plus the constant term's low part (two operations fewer than d·q's error apart; every float in
     * [−13.15, −0.01] and [0.01, 16] measured: the same 1.486 ulp at most), the exponent −a²/2 as its
     * float and exact rest, reduced to 2^n·e^r with r = rh + rl (rh exact), and e^r·(H + Hl) summed as
     * H + (H·rh + (H·(rl + r²·p(r)) + Hl)): every rounding before the last falls on a term at most 0.35·H.
     * Within 1.5 ulp (DeterministicMathTest); VectorKernels.geluLoop does the same operations lane by lane.
     */
    static float geluOfMinusAbs(float x) {
        float a = Math.abs(x);
        a = a > GELU_TAIL_MAX ? GELU_TAIL_MAX : a;   // NaN stays NaN
        int interval = tailInterval(Float.floatToRawIntBits(a));
        float d = a - GELU_TAIL[TAIL_CENTRE][interval];
        float q = tailSlope(d, interval), c0 = GELU_TAIL[TAIL_C0][interval];
        float h = Math.fma(d, q, c0), hl = Math.fma(d, q, c0 - h) + GELU_TAIL[TAIL_C0_LO][interval];
        // −a²/2 = hi + lo (−a/2 exact but for a subnormal a, whose a² underflows anyway)
        float ta = a * -0.5f, hi = ta * a, lo = Math.fma(ta, a, -hi);
        float k = Math.fma(hi, LOG2E, ROUNDER);
        float n = k - ROUNDER;
        float rh = Math.fma(n, -LN2_HI, hi), rl = Math.fma(n, -LN2_LO, lo), r = rh + rl;
        float p = EXP_P[0];
        for (int i = 1; i < EXP_P.length; i++) {
            p = Math.fma(p, r, EXP_P[i]);
        }
        float sum = h + Math.fma(h, rh, Math.fma(h, Math.fma(p, r * r, rl), hl));
        float m = -(sum * Float.intBitsToFloat((Float.floatToRawIntBits(k) + (127 - ROUNDER_BITS)) << 23));
        return a > GELU_FLUSH ? -0f : m;
    }

    /**
     * Exact GELU, x·Φ(x), within 1.5 ulp (DeterministicMathTest): GELU(−|x|) itself for x < 0, and
     * x + GELU(−x) for x ≥ 0 (Φ(x) = 1 − Φ(−x)), where the tail is at most half the result.
     */
    static float gelu(float x) {
        float m = geluOfMinusAbs(x);
        return x >= 0 ? x + m : m;
    }

    /**
     * Φ(x), the normal distribution function, from the same table as {@link #gelu} (for its derivative),
     * given g = e^(−x²/2) ({@link #gaussian}): Φ(−a) = (H(a)/a)·g, H/a being the polynomial q itself on
     * [0, 0.25) (H = a·q there) and a division elsewhere.
     */
    static float normalCdf(float x, float g) {
        float a = Math.abs(x);
        a = a > GELU_TAIL_MAX ? GELU_TAIL_MAX : a;
        int interval = tailInterval(Float.floatToRawIntBits(a));
        float d = a - GELU_TAIL[TAIL_CENTRE][interval];
        float q = tailSlope(d, interval);
        float ratio = a < 0.25f ? q : Math.fma(d, q, GELU_TAIL[TAIL_C0][interval]) / a;
        float below = ratio * g;
        return x >= 0 ? 1f - below : below;
    }

    /**
     * e^(−x²/2) for GELU's derivative: x² as two floats (x·x and its rounding error, exact by FMA), 2^n
     * applied by one multiplication, and 0 past {@link #GELU_FLUSH} (where it is below 1.2e−37).
     */
    static float gaussian(float x) {
        float a = Math.abs(x);
        a = a > GELU_TAIL_MAX ? GELU_TAIL_MAX : a;
        // −a²/2 = hi + lo (−a/2 exact but for a subnormal a, whose a² underflows anyway)
        float ta = a * -0.5f, hi = ta * a, lo = Math.fma(ta, a, -hi);
        float k = Math.fma(hi, LOG2E, ROUNDER);
        float n = k - ROUNDER;
        float r = Math.fma(n, -LN2_LO, Math.fma(n, -LN2_HI, hi) + lo);
        float p = EXP_P[0];
        for (int i = 1; i < EXP_P.length; i++) {
            p = Math.fma(p, r, EXP_P[i]);
        }
        float g = (Math.fma(p, r * r, r) + 1f) * Float.intBitsToFloat((Float.floatToRawIntBits(k) + (127 - ROUNDER_BITS)) << 23);
        return a > GELU_FLUSH ? 0f : g;
    }

    /** erf(z) = 2Φ(z√2) − 1, absolute error about 1e−7 (for tests; the kernels use {@link #gelu}). */
    static float erf(float z) {
        float x = z * 1.41421356237309505f;
        return 2f * normalCdf(x, gaussian(x)) - 1f;
    }

    /** −2u = C1·x + C3·x³ for u = √(2/π)(x + 0.044715x³): C1 = −2√(2/π), C3 = 0.044715·C1, each a float and the rest. */
    static final float TANH_C1 = -1.5957691669e+00f, TANH_C1_LO = 4.5340680543e-08f,
            TANH_C3 = -7.1354813874e-02f, TANH_C3_LO = -2.3988324660e-09f;

    /** Beyond ±this, GELU's tanh form is x or −0 (−2u is past exp's range): x is clamped here for u. */
    static final float GELU_TANH_CLAMP = 12f;

    /**
     * 0.5·x·(1 + tanh(u)) = x / (1 + e^(−2u)), u = √(2/π)(x + 0.044715x³). The result's relative error is
     * the absolute error of −2u times 1 − sigmoid(2u), close to 1 for x &lt; 0: where −2u is 15 (x ≈ −4.75), a
     * float's rounding of it alone is 15·2⁻²⁴, 4 ulp, and the float u of PyTorch's formula is off by up to
     * 11 ulp on [−3, 10]. So −2u = x·m, m = C1 + C3·x², is carried as a float pair: m's rounding error by FMA (exact
     * while C3·x² ≤ |C1|, i.e. |x| ≤ 4.7, by Sterbenz's lemma), x²'s and the constants' own, and the
     * product's by FMA; exp takes both ({@link #expOfSum}). Beyond −4.7 (results below 1.3e−6, where
     * PyTorch's float formula is 0 from −4.9) the error grows again, to 2e−5 relative at −10.
     */
    static float geluTanh(float x) {
        // x clamped for u: +∞ would make x²'s rounding error NaN, and far below −12 the pair's low part grows
        // past what exp's range reduction takes (at −1e4 it was 2500, and 2^n wrapped around)
        float c = x > GELU_TANH_CLAMP ? GELU_TANH_CLAMP : x < -GELU_TANH_CLAMP ? -GELU_TANH_CLAMP : x;
        float xx = c * c, xxl = Math.fma(c, c, -xx), m = Math.fma(TANH_C3, xx, TANH_C1);
        float ml = Math.fma(TANH_C3, xxl, Math.fma(TANH_C3, xx, TANH_C1 - m)) + Math.fma(TANH_C3_LO, xx, TANH_C1_LO);
        float v = m * c, vl = Math.fma(ml, c, Math.fma(m, c, -v));
        return x / (1f + expOfSum(v, vl));
    }

    static float silu(float x) {
        return x / (1f + exp(-x));
    }

    static float apply(float x, Activation activation) {
        return switch (activation) {
            case GELU -> gelu(x);
            case GELU_TANH -> geluTanh(x);
            case RELU -> Math.max(0f, x);
            case TANH -> tanh(x);
            case SILU -> silu(x);
        };
    }
}
