package dev.jformers.cpu;

import dev.jformers.core.AdamWStep;
import dev.jformers.core.Activation;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.constant.ConstantDescs;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * {@link Kernels} on the JDK Vector API, written once for any width.
 *
 * <p>The Vector API turns into SIMD instructions only where the JIT sees the species as a constant;
 * a species passed around as a value silently runs ~50× slower. So this class is a template: it is
 * never loaded by name. {@link Kernels#forBits} defines it once per width as a hidden class whose
 * class data is that width's species, and {@link #S}, a {@code static final}, is a true constant
 * in each copy — each width gets its own compiled code, and widths can be mixed in one JVM.
 */
final class VectorKernels extends Kernels {

    /** This copy's species: the class data given when the hidden class was defined. */
    private static final VectorSpecies<Float> S = speciesFromClassData();

    /** Lane i ↔ lane i ^ 8 (4, 2, 1) of {@link #S}, the identity where that is past its lanes: {@link #addLanes}' steps. */
    private static final VectorShuffle<Float> SWAP_8 = swapLanes(8), SWAP_4 = swapLanes(4), SWAP_2 = swapLanes(2),
            SWAP_1 = swapLanes(1);

    private static VectorShuffle<Float> swapLanes(int half) {
        int[] index = new int[S.length()];
        for (int i = 0; i < index.length; i++) {
            index[i] = half < index.length ? i ^ half : i;
        }
        return VectorShuffle.fromArray(S, index, 0);
    }

    @SuppressWarnings("unchecked")
    private static VectorSpecies<Float> speciesFromClassData() {
        try {
            return MethodHandles.classData(MethodHandles.lookup(), ConstantDescs.DEFAULT_NAME, VectorSpecies.class);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("VectorKernels must be defined as a hidden class with its species", e);
        }
    }

    @Override
    int bits() {
        return S.vectorBitSize();
    }

    @Override
    int lanes() {
        return S.length();
    }

    /**
     * At 512 bits (AVX-512: 32 registers) the tiles are 6 rows × 4 vectors ({@link #tile6x4}, the GEMMs' main tile)
     * and 4 × 4 (the rows left over): 24 or 16 accumulators, 4 panel loads and 6 or 4 broadcasts per 24 or 16 FMAs;
     * NR = 64 divides every width of BERT and GPT-2 (384 … 3072) and 1024. Narrower species may run on AVX2's 16
     * registers, where 4 × 3 is what fits.
     */
    private static final boolean WIDE = S.vectorBitSize() == 512;

    @Override
    int panelWidth() {
        return (WIDE ? 4 : NV) * S.length();
    }

    // ---------------------------------------------------------------- GEMM

    @Override
    void gemmTile(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] c, int cOff, int ldc, int rows) {
        if (WIDE) {   // the 512-bit tiles starting from C itself
            gemmTileFrom(a, aOff, lda, b, bOff, kc, c, cOff, ldc, c, cOff, ldc, rows);
            return;
        }
        int r = 0;
        for (; r + MR <= rows; r += MR) {
            tile4x3(a, aOff + r * lda, lda, b, bOff, kc, c, cOff + r * ldc, ldc);
        }
        for (; r < rows; r++) {
            gemv3(a, aOff + r * lda, kc, b, bOff, 0, 1, c, cOff + r * ldc, c, cOff + r * ldc);
        }
    }

    @Override
    void gemmTileTransposed(float[] at, int aOff, int lda, float[] b, int bOff, int kc, float[] c, int cOff, int ldc,
                            int rows) {
        int r = 0;
        for (; r + MR <= rows; r += MR) {
            if (WIDE) {
                tile4x4Transposed(at, aOff + r, lda, b, bOff, kc, c, cOff + r * ldc, ldc);
            } else {
                tile4x3Transposed(at, aOff + r, lda, b, bOff, kc, c, cOff + r * ldc, ldc);
            }
        }
        if (r < rows) {
            super.gemmTileTransposed(at, aOff + r, lda, b, bOff, kc, c, cOff + r * ldc, ldc, rows - r);
        }
    }

    @Override
    void gemmTileStrip(float[] strip, int aOff, int height, float[] b, int bOff, int kc, float[] c, int cOff, int ldc, int rows) {
        if (WIDE && rows == MR && height == MR) {
            tile4x4Strip(strip, aOff, b, bOff, kc, c, cOff, ldc);
        } else if (WIDE && rows == 6 && height == 6) {
            tile6x4Strip(strip, aOff, b, bOff, kc, c, cOff, ldc);
        } else {
            gemmTileTransposed(strip, aOff, height, b, bOff, kc, c, cOff, ldc, rows);
        }
    }

    /**
     * Through a handle that is not a constant ({@link #PACK_STRIPS}): inlined into the GEMM's task, the 128-bit moves
     * it had then were boxed in every training process measured (~0.5 MB of FloatVectors per 128 × 512 block, 250 MB
     * a MiniLM step; one compilation's node budget spent, as GELU's was), though not in BackwardGemmParts.
     */
    @Override
    void packTransposedA(float[] at, int aOff, int lda, int rows, int steps, float[] dst, int dstOff, int stripStride, int height) {
        if (height != MR && height != 6) {
            super.packTransposedA(at, aOff, lda, rows, steps, dst, dstOff, stripStride, height);
            return;
        }
        try {
            PACK_STRIPS[0].invokeExact(at, aOff, lda, rows, steps, dst, dstOff, stripStride, height);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@link #packStripsLoop} as a handle that is not a constant (see {@link #ACTIVATION_LOOPS}). */
    private static final MethodHandle[] PACK_STRIPS = {staticLoop("packStripsLoop", MethodType.methodType(void.class,
            float[].class, int.class, int.class, int.class, int.class, float[].class, int.class, int.class, int.class))};

    /**
     * {@link #packTransposedA}'s loop for strips of 4 or 6 rows: each step of each whole strip moved as its floats.
     * Plain copies, not a 128-bit FloatVector: a second float species in the process (FloatVector.SPECIES_128 beside
     * {@link #S}) feeds the type profiles that the JDK's shared Vector API methods keep (FloatVector.intoArray's calls
     * of length() and vspecies() saw Float128Vector beside Float512Vector). A C2 compilation of the weight gradient's
     * strip tile ({@link #tile4x4Strip} then) that read such a profile (compiled from C1's tier 2 straight to C2,
     * without a profile of its own) inlined both classes and boxed its accumulators: a FloatVector allocated per FMA,
     * ~400 GB and a minute a BERT-base step on 2 threads, in a JMH fork, and in every process run with
     * -XX:-TieredCompilation (PrintCompilation/PrintInlining, jcmd Thread.print and Compiler.codelist;
     * docs/benchmarks-models.md, tenth session). With one float species in the process, no profile can name another
     * class. Same copies, same bits.
     */
    private static void packStripsLoop(float[] at, int aOff, int lda, int rows, int steps, float[] dst, int dstOff,
                                       int stripStride, int height) {
        int full = rows / height * height;
        for (int t = 0, src = aOff, d = dstOff; t < steps; t++, src += lda, d += height) {
            for (int r = 0, o = d; r < full; r += height, o += stripStride) {
                int a = src + r;
                dst[o] = at[a];
                dst[o + 1] = at[a + 1];
                dst[o + 2] = at[a + 2];
                dst[o + 3] = at[a + 3];
                if (height == 6) {
                    dst[o + 4] = at[a + 4];
                    dst[o + 5] = at[a + 5];
                }
            }
            for (int r = full; r < rows; r++) {
                dst[d + (r / height) * stripStride + r % height] = at[src + r];
            }
        }
    }

    /**
     * The 512-bit register tile, 4 rows × 4 vectors: per step t, 4 panel vectors and 4 broadcasts of A feed 16 FMAs.
     * {@link #fourRows} has the same block over a strided B starting from zero; one method for both (stride
     * and start as parameters) measured 11% slower on GEMM 1024³ (43.4 vs 48.7 ops/s), so they stay two.
     */
    private static void tile4x4(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] init, int initOff, int initLd, float[] c, int cOff, int ldc) {
        VectorSpecies<Float> s = S;
        int l = s.length(), nr = 4 * l;
        int c0 = cOff, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        int i0 = initOff, i1 = i0 + initLd, i2 = i1 + initLd, i3 = i2 + initLd;
        FloatVector v00 = FloatVector.fromArray(s, init, i0), v01 = FloatVector.fromArray(s, init, i0 + l);
        FloatVector v02 = FloatVector.fromArray(s, init, i0 + 2 * l), v03 = FloatVector.fromArray(s, init, i0 + 3 * l);
        FloatVector v10 = FloatVector.fromArray(s, init, i1), v11 = FloatVector.fromArray(s, init, i1 + l);
        FloatVector v12 = FloatVector.fromArray(s, init, i1 + 2 * l), v13 = FloatVector.fromArray(s, init, i1 + 3 * l);
        FloatVector v20 = FloatVector.fromArray(s, init, i2), v21 = FloatVector.fromArray(s, init, i2 + l);
        FloatVector v22 = FloatVector.fromArray(s, init, i2 + 2 * l), v23 = FloatVector.fromArray(s, init, i2 + 3 * l);
        FloatVector v30 = FloatVector.fromArray(s, init, i3), v31 = FloatVector.fromArray(s, init, i3 + l);
        FloatVector v32 = FloatVector.fromArray(s, init, i3 + 2 * l), v33 = FloatVector.fromArray(s, init, i3 + 3 * l);
        int a0 = aOff, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        // bi is a second induction variable, not bOff + t·nr: measured 2–5% faster (the JIT's loop shape)
        for (int t = 0, bi = bOff; t < kc; t++, bi += nr) {
            FloatVector b0 = FloatVector.fromArray(s, b, bi), b1 = FloatVector.fromArray(s, b, bi + l);
            FloatVector b2 = FloatVector.fromArray(s, b, bi + 2 * l), b3 = FloatVector.fromArray(s, b, bi + 3 * l);
            FloatVector x = FloatVector.broadcast(s, a[a0 + t]);
            v00 = b0.fma(x, v00); v01 = b1.fma(x, v01); v02 = b2.fma(x, v02); v03 = b3.fma(x, v03);
            x = FloatVector.broadcast(s, a[a1 + t]);
            v10 = b0.fma(x, v10); v11 = b1.fma(x, v11); v12 = b2.fma(x, v12); v13 = b3.fma(x, v13);
            x = FloatVector.broadcast(s, a[a2 + t]);
            v20 = b0.fma(x, v20); v21 = b1.fma(x, v21); v22 = b2.fma(x, v22); v23 = b3.fma(x, v23);
            x = FloatVector.broadcast(s, a[a3 + t]);
            v30 = b0.fma(x, v30); v31 = b1.fma(x, v31); v32 = b2.fma(x, v32); v33 = b3.fma(x, v33);
        }
        v00.intoArray(c, c0); v01.intoArray(c, c0 + l); v02.intoArray(c, c0 + 2 * l); v03.intoArray(c, c0 + 3 * l);
        v10.intoArray(c, c1); v11.intoArray(c, c1 + l); v12.intoArray(c, c1 + 2 * l); v13.intoArray(c, c1 + 3 * l);
        v20.intoArray(c, c2); v21.intoArray(c, c2 + l); v22.intoArray(c, c2 + 2 * l); v23.intoArray(c, c2 + 3 * l);
        v30.intoArray(c, c3); v31.intoArray(c, c3 + l); v32.intoArray(c, c3 + 2 * l); v33.intoArray(c, c3 + 3 * l);
    }

    @Override
    int sixRowTiles() {
        return WIDE ? 6 : 0;
    }

    @Override
    void gemmTile6From(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] init, int initOff, int initLd,
                       float[] c, int cOff, int ldc) {
        if (!WIDE) {
            super.gemmTile6From(a, aOff, lda, b, bOff, kc, init, initOff, initLd, c, cOff, ldc);   // throws
            return;
        }
        tile6x4(a, aOff, lda, b, bOff, kc, init, initOff, initLd, c, cOff, ldc);
    }

    @Override
    void gemmTileShortFrom(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] init, int initOff, int initLd,
                           float[] c, int cOff, int ldc, int rows) {
        if (!WIDE) {
            super.gemmTileShortFrom(a, aOff, lda, b, bOff, kc, init, initOff, initLd, c, cOff, ldc, rows);   // throws
            return;
        }
        switch (rows) {
            case 1 -> tile1x4(a, aOff, b, bOff, kc, init, initOff, c, cOff);
            case 2 -> tile2x4(a, aOff, lda, b, bOff, kc, init, initOff, initLd, c, cOff, ldc);
            case 3 -> tile3x4(a, aOff, lda, b, bOff, kc, init, initOff, initLd, c, cOff, ldc);
            default -> throw new IllegalArgumentException("a short tile has 1 to 3 rows, not " + rows);
        }
    }

    @Override
    void gemmTileFrom(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] init, int initOff, int initLd,
                      float[] c, int cOff, int ldc, int rows) {
        if (!WIDE) {
            super.gemmTileFrom(a, aOff, lda, b, bOff, kc, init, initOff, initLd, c, cOff, ldc, rows);   // throws
            return;
        }
        int r = 0;
        for (; r + MR <= rows; r += MR) {
            tile4x4(a, aOff + r * lda, lda, b, bOff, kc, init, initOff + r * initLd, initLd, c, cOff + r * ldc, ldc);
        }
        for (; r < rows; r++) {
            gemv4(a, aOff + r * lda, kc, b, bOff, 0, 1, c, cOff + r * ldc, init, initOff + r * initLd);
        }
    }

    /**
     * One row × 4 vectors with the tiles' arithmetic (4 accumulators, one chain each). The broadcast multiplies the
     * panel's vector ({@code x.fma(panel, acc)}, the same exact product as {@code panel.fma(x, acc)}: the same bits, NaN
     * payloads aside), so that C2 folds each panel load into its FMA (its match rule takes a load as the second
     * multiplicand only): C2 unrolls the loop 8 steps,
     * 8 broadcasts + 32 FMAs with a memory operand + ~6 of address and loop, ~6 instructions a step against ~10 with
     * separate loads (read with benchmarks/disassembler.sh). The first sweep of a streamed block
     * ({@link SimdBackend#ONE_ROW_SWEEP_MAX_ROWS}) then streams 1–3% faster (StreamOverlap sweep1 against the separate
     * loads, 96 KiB blocks from DRAM, five processes: 1.72–1.86 against 1.74–1.91 µs a block; in cache both 0.71–0.78);
     * whole 16-token forwards within the noise (docs/benchmarks.md, thirteenth session, #20s).
     */
    private static void tile1x4(float[] a, int aOff, float[] b, int bOff, int kc, float[] init, int initOff, float[] c, int cOff) {
        VectorSpecies<Float> s = S;
        int l = s.length(), nr = 4 * l, c0 = cOff, i0 = initOff;
        FloatVector v00 = FloatVector.fromArray(s, init, i0), v01 = FloatVector.fromArray(s, init, i0 + l);
        FloatVector v02 = FloatVector.fromArray(s, init, i0 + 2 * l), v03 = FloatVector.fromArray(s, init, i0 + 3 * l);
        for (int t = 0, bi = bOff; t < kc; t++, bi += nr) {
            FloatVector x = FloatVector.broadcast(s, a[aOff + t]);
            v00 = x.fma(FloatVector.fromArray(s, b, bi), v00);
            v01 = x.fma(FloatVector.fromArray(s, b, bi + l), v01);
            v02 = x.fma(FloatVector.fromArray(s, b, bi + 2 * l), v02);
            v03 = x.fma(FloatVector.fromArray(s, b, bi + 3 * l), v03);
        }
        v00.intoArray(c, c0); v01.intoArray(c, c0 + l); v02.intoArray(c, c0 + 2 * l); v03.intoArray(c, c0 + 3 * l);
    }

    /** 2 rows × 4 vectors with the tiles' arithmetic: 4 loads, 2 broadcasts, 8 FMAs a step. */
    private static void tile2x4(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] init, int initOff, int initLd, float[] c, int cOff, int ldc) {
        VectorSpecies<Float> s = S;
        int l = s.length(), nr = 4 * l;
        int c0 = cOff, c1 = c0 + ldc;
        int i0 = initOff, i1 = i0 + initLd;
        FloatVector v00 = FloatVector.fromArray(s, init, i0), v01 = FloatVector.fromArray(s, init, i0 + l);
        FloatVector v02 = FloatVector.fromArray(s, init, i0 + 2 * l), v03 = FloatVector.fromArray(s, init, i0 + 3 * l);
        FloatVector v10 = FloatVector.fromArray(s, init, i1), v11 = FloatVector.fromArray(s, init, i1 + l);
        FloatVector v12 = FloatVector.fromArray(s, init, i1 + 2 * l), v13 = FloatVector.fromArray(s, init, i1 + 3 * l);
        int a0 = aOff, a1 = a0 + lda;
        for (int t = 0, bi = bOff; t < kc; t++, bi += nr) {
            FloatVector b0 = FloatVector.fromArray(s, b, bi), b1 = FloatVector.fromArray(s, b, bi + l);
            FloatVector b2 = FloatVector.fromArray(s, b, bi + 2 * l), b3 = FloatVector.fromArray(s, b, bi + 3 * l);
            FloatVector x = FloatVector.broadcast(s, a[a0 + t]);
            v00 = b0.fma(x, v00); v01 = b1.fma(x, v01); v02 = b2.fma(x, v02); v03 = b3.fma(x, v03);
            x = FloatVector.broadcast(s, a[a1 + t]);
            v10 = b0.fma(x, v10); v11 = b1.fma(x, v11); v12 = b2.fma(x, v12); v13 = b3.fma(x, v13);
        }
        v00.intoArray(c, c0); v01.intoArray(c, c0 + l); v02.intoArray(c, c0 + 2 * l); v03.intoArray(c, c0 + 3 * l);
        v10.intoArray(c, c1); v11.intoArray(c, c1 + l); v12.intoArray(c, c1 + 2 * l); v13.intoArray(c, c1 + 3 * l);
    }

    /** 3 rows × 4 vectors with the tiles' arithmetic: 4 loads, 3 broadcasts, 12 FMAs a step. */
    private static void tile3x4(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] init, int initOff, int initLd, float[] c, int cOff, int ldc) {
        VectorSpecies<Float> s = S;
        int l = s.length(), nr = 4 * l;
        int c0 = cOff, c1 = c0 + ldc, c2 = c1 + ldc;
        int i0 = initOff, i1 = i0 + initLd, i2 = i1 + initLd;
        FloatVector v00 = FloatVector.fromArray(s, init, i0), v01 = FloatVector.fromArray(s, init, i0 + l);
        FloatVector v02 = FloatVector.fromArray(s, init, i0 + 2 * l), v03 = FloatVector.fromArray(s, init, i0 + 3 * l);
        FloatVector v10 = FloatVector.fromArray(s, init, i1), v11 = FloatVector.fromArray(s, init, i1 + l);
        FloatVector v12 = FloatVector.fromArray(s, init, i1 + 2 * l), v13 = FloatVector.fromArray(s, init, i1 + 3 * l);
        FloatVector v20 = FloatVector.fromArray(s, init, i2), v21 = FloatVector.fromArray(s, init, i2 + l);
        FloatVector v22 = FloatVector.fromArray(s, init, i2 + 2 * l), v23 = FloatVector.fromArray(s, init, i2 + 3 * l);
        int a0 = aOff, a1 = a0 + lda, a2 = a1 + lda;
        for (int t = 0, bi = bOff; t < kc; t++, bi += nr) {
            FloatVector b0 = FloatVector.fromArray(s, b, bi), b1 = FloatVector.fromArray(s, b, bi + l);
            FloatVector b2 = FloatVector.fromArray(s, b, bi + 2 * l), b3 = FloatVector.fromArray(s, b, bi + 3 * l);
            FloatVector x = FloatVector.broadcast(s, a[a0 + t]);
            v00 = b0.fma(x, v00); v01 = b1.fma(x, v01); v02 = b2.fma(x, v02); v03 = b3.fma(x, v03);
            x = FloatVector.broadcast(s, a[a1 + t]);
            v10 = b0.fma(x, v10); v11 = b1.fma(x, v11); v12 = b2.fma(x, v12); v13 = b3.fma(x, v13);
            x = FloatVector.broadcast(s, a[a2 + t]);
            v20 = b0.fma(x, v20); v21 = b1.fma(x, v21); v22 = b2.fma(x, v22); v23 = b3.fma(x, v23);
        }
        v00.intoArray(c, c0); v01.intoArray(c, c0 + l); v02.intoArray(c, c0 + 2 * l); v03.intoArray(c, c0 + 3 * l);
        v10.intoArray(c, c1); v11.intoArray(c, c1 + l); v12.intoArray(c, c1 + 2 * l); v13.intoArray(c, c1 + 3 * l);
        v20.intoArray(c, c2); v21.intoArray(c, c2 + l); v22.intoArray(c, c2 + 2 * l); v23.intoArray(c, c2 + 3 * l);
    }

    /**
     * 6 rows × 4 vectors, the GEMMs' main tile: 24 accumulators + 4 panel vectors + a broadcast = 29 of the 32
     * registers. Why it exists: on a core that issues two 512-bit FMAs a cycle (Zen 5) {@link #tile4x4}'s 8 loads per
     * 16 FMAs hold the FMA units back (78–85% of the peak against 92–100%; see SimdBackend's SIX_ROW_TILE_MAX_ROWS);
     * and with 16 rows (a 16-token sentence) each panel is swept 4 times by {@link #tile4x4}, and the first sweep must
     * bring it from memory at 256 bytes per 16 FMAs — about twice what DRAM gives one core
     * here — while the other sweeps find it in L2. Six rows per sweep ask for 256 bytes per 24 FMAs, and 16 rows
     * take 6 + 6 + 4. Each C element gets the same FMAs in the same order as in {@link #tile4x4}: the same bits.
     * Like the other 512-bit tiles (tile1x4 … tile4x4) it starts from {@code init} (row r at init[initOff + r·initLd])
     * and stores into c: C itself, or the bias in a GEMM's first K block ({@link #gemmTile6From}, initLd = 0), which spares
     * the copy of the bias into Y.
     * Read in the machine code (benchmarks/disassembler.sh, fourteenth session): ~50 instructions a step for 24 FMAs
     * (a {@code lea} per row of A, the panel array and offset reloaded from the stack); a 6-row tile over A copied to
     * rows a constant apart (one index, constant displacements) let C2 hoist the six broadcasts and spill an
     * accumulator to the stack every step (74–77% of the peak against 90–95% in GEMMs of 128 rows), a 5-row one was
     * clean (~34 instructions for 20 FMAs) and still 11–14% slower (4 panel loads per 20 FMAs): this one stays.
     */
    private static void tile6x4(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] init, int initOff, int initLd, float[] c, int cOff, int ldc) {
        VectorSpecies<Float> s = S;
        int l = s.length(), nr = 4 * l;
        int c0 = cOff, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc;
        int i0 = initOff, i1 = i0 + initLd, i2 = i1 + initLd, i3 = i2 + initLd, i4 = i3 + initLd, i5 = i4 + initLd;
        FloatVector v00 = FloatVector.fromArray(s, init, i0), v01 = FloatVector.fromArray(s, init, i0 + l);
        FloatVector v02 = FloatVector.fromArray(s, init, i0 + 2 * l), v03 = FloatVector.fromArray(s, init, i0 + 3 * l);
        FloatVector v10 = FloatVector.fromArray(s, init, i1), v11 = FloatVector.fromArray(s, init, i1 + l);
        FloatVector v12 = FloatVector.fromArray(s, init, i1 + 2 * l), v13 = FloatVector.fromArray(s, init, i1 + 3 * l);
        FloatVector v20 = FloatVector.fromArray(s, init, i2), v21 = FloatVector.fromArray(s, init, i2 + l);
        FloatVector v22 = FloatVector.fromArray(s, init, i2 + 2 * l), v23 = FloatVector.fromArray(s, init, i2 + 3 * l);
        FloatVector v30 = FloatVector.fromArray(s, init, i3), v31 = FloatVector.fromArray(s, init, i3 + l);
        FloatVector v32 = FloatVector.fromArray(s, init, i3 + 2 * l), v33 = FloatVector.fromArray(s, init, i3 + 3 * l);
        FloatVector v40 = FloatVector.fromArray(s, init, i4), v41 = FloatVector.fromArray(s, init, i4 + l);
        FloatVector v42 = FloatVector.fromArray(s, init, i4 + 2 * l), v43 = FloatVector.fromArray(s, init, i4 + 3 * l);
        FloatVector v50 = FloatVector.fromArray(s, init, i5), v51 = FloatVector.fromArray(s, init, i5 + l);
        FloatVector v52 = FloatVector.fromArray(s, init, i5 + 2 * l), v53 = FloatVector.fromArray(s, init, i5 + 3 * l);
        int a0 = aOff, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (int t = 0, bi = bOff; t < kc; t++, bi += nr) {
            FloatVector b0 = FloatVector.fromArray(s, b, bi), b1 = FloatVector.fromArray(s, b, bi + l);
            FloatVector b2 = FloatVector.fromArray(s, b, bi + 2 * l), b3 = FloatVector.fromArray(s, b, bi + 3 * l);
            FloatVector x = FloatVector.broadcast(s, a[a0 + t]);
            v00 = b0.fma(x, v00); v01 = b1.fma(x, v01); v02 = b2.fma(x, v02); v03 = b3.fma(x, v03);
            x = FloatVector.broadcast(s, a[a1 + t]);
            v10 = b0.fma(x, v10); v11 = b1.fma(x, v11); v12 = b2.fma(x, v12); v13 = b3.fma(x, v13);
            x = FloatVector.broadcast(s, a[a2 + t]);
            v20 = b0.fma(x, v20); v21 = b1.fma(x, v21); v22 = b2.fma(x, v22); v23 = b3.fma(x, v23);
            x = FloatVector.broadcast(s, a[a3 + t]);
            v30 = b0.fma(x, v30); v31 = b1.fma(x, v31); v32 = b2.fma(x, v32); v33 = b3.fma(x, v33);
            x = FloatVector.broadcast(s, a[a4 + t]);
            v40 = b0.fma(x, v40); v41 = b1.fma(x, v41); v42 = b2.fma(x, v42); v43 = b3.fma(x, v43);
            x = FloatVector.broadcast(s, a[a5 + t]);
            v50 = b0.fma(x, v50); v51 = b1.fma(x, v51); v52 = b2.fma(x, v52); v53 = b3.fma(x, v53);
        }
        v00.intoArray(c, c0); v01.intoArray(c, c0 + l); v02.intoArray(c, c0 + 2 * l); v03.intoArray(c, c0 + 3 * l);
        v10.intoArray(c, c1); v11.intoArray(c, c1 + l); v12.intoArray(c, c1 + 2 * l); v13.intoArray(c, c1 + 3 * l);
        v20.intoArray(c, c2); v21.intoArray(c, c2 + l); v22.intoArray(c, c2 + 2 * l); v23.intoArray(c, c2 + 3 * l);
        v30.intoArray(c, c3); v31.intoArray(c, c3 + l); v32.intoArray(c, c3 + 2 * l); v33.intoArray(c, c3 + 3 * l);
        v40.intoArray(c, c4); v41.intoArray(c, c4 + l); v42.intoArray(c, c4 + 2 * l); v43.intoArray(c, c4 + 3 * l);
        v50.intoArray(c, c5); v51.intoArray(c, c5 + l); v52.intoArray(c, c5 + 2 * l); v53.intoArray(c, c5 + 3 * l);
    }

    /**
     * The register tile: 4 rows × 3 vectors. Per step t it loads 3 vectors of the panel row and
     * broadcasts 4 values of A, then issues 12 independent FMAs — enough to cover the FMA latency
     * with two FMA pipes, while the 15 vectors in flight fit the 16 (AVX2) or 32 (AVX-512) registers.
     * Plain array loads and stores only: no masks and no branches, so the JIT keeps every vector in a register.
     */
    private static void tile4x3(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] c, int cOff, int ldc) {
        VectorSpecies<Float> s = S;
        int l = s.length(), nr = NV * l;
        int c0 = cOff, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        FloatVector v00 = FloatVector.fromArray(s, c, c0), v01 = FloatVector.fromArray(s, c, c0 + l), v02 = FloatVector.fromArray(s, c, c0 + 2 * l);
        FloatVector v10 = FloatVector.fromArray(s, c, c1), v11 = FloatVector.fromArray(s, c, c1 + l), v12 = FloatVector.fromArray(s, c, c1 + 2 * l);
        FloatVector v20 = FloatVector.fromArray(s, c, c2), v21 = FloatVector.fromArray(s, c, c2 + l), v22 = FloatVector.fromArray(s, c, c2 + 2 * l);
        FloatVector v30 = FloatVector.fromArray(s, c, c3), v31 = FloatVector.fromArray(s, c, c3 + l), v32 = FloatVector.fromArray(s, c, c3 + 2 * l);
        int a0 = aOff, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        for (int t = 0; t < kc; t++) {
            int bi = bOff + t * nr;
            FloatVector b0 = FloatVector.fromArray(s, b, bi);
            FloatVector b1 = FloatVector.fromArray(s, b, bi + l);
            FloatVector b2 = FloatVector.fromArray(s, b, bi + 2 * l);
            FloatVector x = FloatVector.broadcast(s, a[a0 + t]);
            v00 = b0.fma(x, v00); v01 = b1.fma(x, v01); v02 = b2.fma(x, v02);
            x = FloatVector.broadcast(s, a[a1 + t]);
            v10 = b0.fma(x, v10); v11 = b1.fma(x, v11); v12 = b2.fma(x, v12);
            x = FloatVector.broadcast(s, a[a2 + t]);
            v20 = b0.fma(x, v20); v21 = b1.fma(x, v21); v22 = b2.fma(x, v22);
            x = FloatVector.broadcast(s, a[a3 + t]);
            v30 = b0.fma(x, v30); v31 = b1.fma(x, v31); v32 = b2.fma(x, v32);
        }
        v00.intoArray(c, c0); v01.intoArray(c, c0 + l); v02.intoArray(c, c0 + 2 * l);
        v10.intoArray(c, c1); v11.intoArray(c, c1 + l); v12.intoArray(c, c1 + 2 * l);
        v20.intoArray(c, c2); v21.intoArray(c, c2 + l); v22.intoArray(c, c2 + 2 * l);
        v30.intoArray(c, c3); v31.intoArray(c, c3 + l); v32.intoArray(c, c3 + 2 * l);
    }

    /** {@link #tile4x4} with A transposed: per step t the tile's 4 values of A are adjacent, at a[aOff + t·lda]. */
    private static void tile4x4Transposed(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] c, int cOff, int ldc) {
        VectorSpecies<Float> s = S;
        int l = s.length(), nr = 4 * l;
        int c0 = cOff, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        FloatVector v00 = FloatVector.fromArray(s, c, c0), v01 = FloatVector.fromArray(s, c, c0 + l);
        FloatVector v02 = FloatVector.fromArray(s, c, c0 + 2 * l), v03 = FloatVector.fromArray(s, c, c0 + 3 * l);
        FloatVector v10 = FloatVector.fromArray(s, c, c1), v11 = FloatVector.fromArray(s, c, c1 + l);
        FloatVector v12 = FloatVector.fromArray(s, c, c1 + 2 * l), v13 = FloatVector.fromArray(s, c, c1 + 3 * l);
        FloatVector v20 = FloatVector.fromArray(s, c, c2), v21 = FloatVector.fromArray(s, c, c2 + l);
        FloatVector v22 = FloatVector.fromArray(s, c, c2 + 2 * l), v23 = FloatVector.fromArray(s, c, c2 + 3 * l);
        FloatVector v30 = FloatVector.fromArray(s, c, c3), v31 = FloatVector.fromArray(s, c, c3 + l);
        FloatVector v32 = FloatVector.fromArray(s, c, c3 + 2 * l), v33 = FloatVector.fromArray(s, c, c3 + 3 * l);
        for (int t = 0, bi = bOff, ai = aOff; t < kc; t++, bi += nr, ai += lda) {
            FloatVector b0 = FloatVector.fromArray(s, b, bi), b1 = FloatVector.fromArray(s, b, bi + l);
            FloatVector b2 = FloatVector.fromArray(s, b, bi + 2 * l), b3 = FloatVector.fromArray(s, b, bi + 3 * l);
            FloatVector x = FloatVector.broadcast(s, a[ai]);
            v00 = b0.fma(x, v00); v01 = b1.fma(x, v01); v02 = b2.fma(x, v02); v03 = b3.fma(x, v03);
            x = FloatVector.broadcast(s, a[ai + 1]);
            v10 = b0.fma(x, v10); v11 = b1.fma(x, v11); v12 = b2.fma(x, v12); v13 = b3.fma(x, v13);
            x = FloatVector.broadcast(s, a[ai + 2]);
            v20 = b0.fma(x, v20); v21 = b1.fma(x, v21); v22 = b2.fma(x, v22); v23 = b3.fma(x, v23);
            x = FloatVector.broadcast(s, a[ai + 3]);
            v30 = b0.fma(x, v30); v31 = b1.fma(x, v31); v32 = b2.fma(x, v32); v33 = b3.fma(x, v33);
        }
        v00.intoArray(c, c0); v01.intoArray(c, c0 + l); v02.intoArray(c, c0 + 2 * l); v03.intoArray(c, c0 + 3 * l);
        v10.intoArray(c, c1); v11.intoArray(c, c1 + l); v12.intoArray(c, c1 + 2 * l); v13.intoArray(c, c1 + 3 * l);
        v20.intoArray(c, c2); v21.intoArray(c, c2 + l); v22.intoArray(c, c2 + 2 * l); v23.intoArray(c, c2 + 3 * l);
        v30.intoArray(c, c3); v31.intoArray(c, c3 + l); v32.intoArray(c, c3 + 2 * l); v33.intoArray(c, c3 + 3 * l);
    }

    /**
     * {@link #tile4x4Transposed} over a strip of 4 rows ({@link #packTransposedA}): step t's 4 values at a[aOff + 4t],
     * a constant stride, which lets the JIT drop the per-step bounds checks that a variable lda keeps.
     */
    private static void tile4x4Strip(float[] a, int aOff, float[] b, int bOff, int kc, float[] c, int cOff, int ldc) {
        VectorSpecies<Float> s = S;
        int l = s.length(), nr = 4 * l;
        int c0 = cOff, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        FloatVector v00 = FloatVector.fromArray(s, c, c0), v01 = FloatVector.fromArray(s, c, c0 + l);
        FloatVector v02 = FloatVector.fromArray(s, c, c0 + 2 * l), v03 = FloatVector.fromArray(s, c, c0 + 3 * l);
        FloatVector v10 = FloatVector.fromArray(s, c, c1), v11 = FloatVector.fromArray(s, c, c1 + l);
        FloatVector v12 = FloatVector.fromArray(s, c, c1 + 2 * l), v13 = FloatVector.fromArray(s, c, c1 + 3 * l);
        FloatVector v20 = FloatVector.fromArray(s, c, c2), v21 = FloatVector.fromArray(s, c, c2 + l);
        FloatVector v22 = FloatVector.fromArray(s, c, c2 + 2 * l), v23 = FloatVector.fromArray(s, c, c2 + 3 * l);
        FloatVector v30 = FloatVector.fromArray(s, c, c3), v31 = FloatVector.fromArray(s, c, c3 + l);
        FloatVector v32 = FloatVector.fromArray(s, c, c3 + 2 * l), v33 = FloatVector.fromArray(s, c, c3 + 3 * l);
        for (int t = 0, bi = bOff; t < kc; t++, bi += nr) {
            int ai = aOff + MR * t;
            FloatVector b0 = FloatVector.fromArray(s, b, bi), b1 = FloatVector.fromArray(s, b, bi + l);
            FloatVector b2 = FloatVector.fromArray(s, b, bi + 2 * l), b3 = FloatVector.fromArray(s, b, bi + 3 * l);
            FloatVector x = FloatVector.broadcast(s, a[ai]);
            v00 = b0.fma(x, v00); v01 = b1.fma(x, v01); v02 = b2.fma(x, v02); v03 = b3.fma(x, v03);
            x = FloatVector.broadcast(s, a[ai + 1]);
            v10 = b0.fma(x, v10); v11 = b1.fma(x, v11); v12 = b2.fma(x, v12); v13 = b3.fma(x, v13);
            x = FloatVector.broadcast(s, a[ai + 2]);
            v20 = b0.fma(x, v20); v21 = b1.fma(x, v21); v22 = b2.fma(x, v22); v23 = b3.fma(x, v23);
            x = FloatVector.broadcast(s, a[ai + 3]);
            v30 = b0.fma(x, v30); v31 = b1.fma(x, v31); v32 = b2.fma(x, v32); v33 = b3.fma(x, v33);
        }
        v00.intoArray(c, c0); v01.intoArray(c, c0 + l); v02.intoArray(c, c0 + 2 * l); v03.intoArray(c, c0 + 3 * l);
        v10.intoArray(c, c1); v11.intoArray(c, c1 + l); v12.intoArray(c, c1 + 2 * l); v13.intoArray(c, c1 + 3 * l);
        v20.intoArray(c, c2); v21.intoArray(c, c2 + l); v22.intoArray(c, c2 + 2 * l); v23.intoArray(c, c2 + 3 * l);
        v30.intoArray(c, c3); v31.intoArray(c, c3 + l); v32.intoArray(c, c3 + 2 * l); v33.intoArray(c, c3 + 3 * l);
    }

    /**
     * {@link #tile6x4} over a strip of 6 rows ({@link #packTransposedA} with height 6): a weight gradient's GEMM with
     * the taller tile, for the same reason as the forward's (a core that issues two 512-bit FMAs a cycle needs fewer
     * loads per FMA; see SimdBackend's {@code SIX_ROW_TILE_MAX_ROWS}). Same FMAs per element in the same order.
     */
    private static void tile6x4Strip(float[] a, int aOff, float[] b, int bOff, int kc, float[] c, int cOff, int ldc) {
        VectorSpecies<Float> s = S;
        int l = s.length(), nr = 4 * l;
        int c0 = cOff, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc;
        FloatVector v00 = FloatVector.fromArray(s, c, c0), v01 = FloatVector.fromArray(s, c, c0 + l);
        FloatVector v02 = FloatVector.fromArray(s, c, c0 + 2 * l), v03 = FloatVector.fromArray(s, c, c0 + 3 * l);
        FloatVector v10 = FloatVector.fromArray(s, c, c1), v11 = FloatVector.fromArray(s, c, c1 + l);
        FloatVector v12 = FloatVector.fromArray(s, c, c1 + 2 * l), v13 = FloatVector.fromArray(s, c, c1 + 3 * l);
        FloatVector v20 = FloatVector.fromArray(s, c, c2), v21 = FloatVector.fromArray(s, c, c2 + l);
        FloatVector v22 = FloatVector.fromArray(s, c, c2 + 2 * l), v23 = FloatVector.fromArray(s, c, c2 + 3 * l);
        FloatVector v30 = FloatVector.fromArray(s, c, c3), v31 = FloatVector.fromArray(s, c, c3 + l);
        FloatVector v32 = FloatVector.fromArray(s, c, c3 + 2 * l), v33 = FloatVector.fromArray(s, c, c3 + 3 * l);
        FloatVector v40 = FloatVector.fromArray(s, c, c4), v41 = FloatVector.fromArray(s, c, c4 + l);
        FloatVector v42 = FloatVector.fromArray(s, c, c4 + 2 * l), v43 = FloatVector.fromArray(s, c, c4 + 3 * l);
        FloatVector v50 = FloatVector.fromArray(s, c, c5), v51 = FloatVector.fromArray(s, c, c5 + l);
        FloatVector v52 = FloatVector.fromArray(s, c, c5 + 2 * l), v53 = FloatVector.fromArray(s, c, c5 + 3 * l);
        for (int t = 0, bi = bOff; t < kc; t++, bi += nr) {
            int ai = aOff + 6 * t;
            FloatVector b0 = FloatVector.fromArray(s, b, bi), b1 = FloatVector.fromArray(s, b, bi + l);
            FloatVector b2 = FloatVector.fromArray(s, b, bi + 2 * l), b3 = FloatVector.fromArray(s, b, bi + 3 * l);
            FloatVector x = FloatVector.broadcast(s, a[ai]);
            v00 = b0.fma(x, v00); v01 = b1.fma(x, v01); v02 = b2.fma(x, v02); v03 = b3.fma(x, v03);
            x = FloatVector.broadcast(s, a[ai + 1]);
            v10 = b0.fma(x, v10); v11 = b1.fma(x, v11); v12 = b2.fma(x, v12); v13 = b3.fma(x, v13);
            x = FloatVector.broadcast(s, a[ai + 2]);
            v20 = b0.fma(x, v20); v21 = b1.fma(x, v21); v22 = b2.fma(x, v22); v23 = b3.fma(x, v23);
            x = FloatVector.broadcast(s, a[ai + 3]);
            v30 = b0.fma(x, v30); v31 = b1.fma(x, v31); v32 = b2.fma(x, v32); v33 = b3.fma(x, v33);
            x = FloatVector.broadcast(s, a[ai + 4]);
            v40 = b0.fma(x, v40); v41 = b1.fma(x, v41); v42 = b2.fma(x, v42); v43 = b3.fma(x, v43);
            x = FloatVector.broadcast(s, a[ai + 5]);
            v50 = b0.fma(x, v50); v51 = b1.fma(x, v51); v52 = b2.fma(x, v52); v53 = b3.fma(x, v53);
        }
        v00.intoArray(c, c0); v01.intoArray(c, c0 + l); v02.intoArray(c, c0 + 2 * l); v03.intoArray(c, c0 + 3 * l);
        v10.intoArray(c, c1); v11.intoArray(c, c1 + l); v12.intoArray(c, c1 + 2 * l); v13.intoArray(c, c1 + 3 * l);
        v20.intoArray(c, c2); v21.intoArray(c, c2 + l); v22.intoArray(c, c2 + 2 * l); v23.intoArray(c, c2 + 3 * l);
        v30.intoArray(c, c3); v31.intoArray(c, c3 + l); v32.intoArray(c, c3 + 2 * l); v33.intoArray(c, c3 + 3 * l);
        v40.intoArray(c, c4); v41.intoArray(c, c4 + l); v42.intoArray(c, c4 + 2 * l); v43.intoArray(c, c4 + 3 * l);
        v50.intoArray(c, c5); v51.intoArray(c, c5 + l); v52.intoArray(c, c5 + 2 * l); v53.intoArray(c, c5 + 3 * l);
    }

    /** {@link #tile4x3} with A transposed, as {@link #tile4x4Transposed}. */
    private static void tile4x3Transposed(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] c, int cOff, int ldc) {
        VectorSpecies<Float> s = S;
        int l = s.length(), nr = NV * l;
        int c0 = cOff, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        FloatVector v00 = FloatVector.fromArray(s, c, c0), v01 = FloatVector.fromArray(s, c, c0 + l), v02 = FloatVector.fromArray(s, c, c0 + 2 * l);
        FloatVector v10 = FloatVector.fromArray(s, c, c1), v11 = FloatVector.fromArray(s, c, c1 + l), v12 = FloatVector.fromArray(s, c, c1 + 2 * l);
        FloatVector v20 = FloatVector.fromArray(s, c, c2), v21 = FloatVector.fromArray(s, c, c2 + l), v22 = FloatVector.fromArray(s, c, c2 + 2 * l);
        FloatVector v30 = FloatVector.fromArray(s, c, c3), v31 = FloatVector.fromArray(s, c, c3 + l), v32 = FloatVector.fromArray(s, c, c3 + 2 * l);
        for (int t = 0, ai = aOff; t < kc; t++, ai += lda) {
            int bi = bOff + t * nr;
            FloatVector b0 = FloatVector.fromArray(s, b, bi);
            FloatVector b1 = FloatVector.fromArray(s, b, bi + l);
            FloatVector b2 = FloatVector.fromArray(s, b, bi + 2 * l);
            FloatVector x = FloatVector.broadcast(s, a[ai]);
            v00 = b0.fma(x, v00); v01 = b1.fma(x, v01); v02 = b2.fma(x, v02);
            x = FloatVector.broadcast(s, a[ai + 1]);
            v10 = b0.fma(x, v10); v11 = b1.fma(x, v11); v12 = b2.fma(x, v12);
            x = FloatVector.broadcast(s, a[ai + 2]);
            v20 = b0.fma(x, v20); v21 = b1.fma(x, v21); v22 = b2.fma(x, v22);
            x = FloatVector.broadcast(s, a[ai + 3]);
            v30 = b0.fma(x, v30); v31 = b1.fma(x, v31); v32 = b2.fma(x, v32);
        }
        v00.intoArray(c, c0); v01.intoArray(c, c0 + l); v02.intoArray(c, c0 + 2 * l);
        v10.intoArray(c, c1); v11.intoArray(c, c1 + l); v12.intoArray(c, c1 + 2 * l);
        v20.intoArray(c, c2); v21.intoArray(c, c2 + l); v22.intoArray(c, c2 + 2 * l);
        v30.intoArray(c, c3); v31.intoArray(c, c3 + l); v32.intoArray(c, c3 + 2 * l);
    }

    /**
     * A whole range of panels in one loop nest, accumulators from zero and added to y at the end: in this
     * shape the JIT streams the weight at the core's read bandwidth (measured 31–34 GB/s); the earlier
     * one-row tile, the same arithmetic called panel by panel with a {@code t + 1 < kc} loop, reached
     * 25–26. Steps t and t+1 feed separate accumulators, so 8 (or 6) loads are in flight per pair of rows,
     * which a GEMV needs to reach DRAM bandwidth (one FMA chain per vector would wait on FMA latency); the 512-bit
     * loop takes two such pairs an iteration ({@link #gemv4}).
     * The GEMM's tail rows (fewer than {@link #MR}) use the same loops, one panel at a time.
     */
    @Override
    void gemv(float[] x, int xOff, int k, float[] b, int p0, int p1, float[] y, int yOff, float[] base, int baseOff) {
        int nr = panelWidth();
        if (WIDE) {
            gemv4(x, xOff, k, b, p0 * k * nr, k * nr, p1 - p0, y, yOff + p0 * nr, base, baseOff + p0 * nr);
        } else {
            gemv3(x, xOff, k, b, p0 * k * nr, k * nr, p1 - p0, y, yOff + p0 * nr, base, baseOff + p0 * nr);
        }
    }

    /**
     * c[cOff + i·NR, +NR) = base[baseOff + i·NR, +NR) + a[aOff, +k) · panel i, for {@code panels} panels of k rows,
     * panel i's row t at {@code b[bFirst + i·panelStride + t·NR]} (base: c itself to accumulate, or the bias). 4
     * vectors a row (512 bits).
     *
     * <p>Four rows of the panel per iteration (1 KB, 16 loads), still two accumulator sets (even t into v, odd t
     * into w), so the sums, and the bits, are those of two rows per iteration. Why four: on Zen 5 two rows per
     * iteration streamed 40–42 GB/s from memory where the read bandwidth loop ({@code PeakBenchmark.read}) does 45–48;
     * four rows 44.5–45.7 (LM head 768 × 50304, c_fc, c_proj; eight rows 41–42; CPU time of one thread, one variant
     * per JVM, weights rotated through 200 MB; docs/benchmarks-models.md, "Eleventh session").
     */
    private static void gemv4(float[] a, int aOff, int k, float[] b, int bFirst, int panelStride, int panels, float[] c, int cOff,
                              float[] base, int baseOff) {
        VectorSpecies<Float> s = S;
        int l = s.length(), nr = 4 * l, k4 = k & ~3, kEven = k & ~1;
        for (int p = 0; p < panels; p++) {
            int bi = bFirst + p * panelStride, t = 0;
            FloatVector v0 = FloatVector.zero(s), v1 = v0, v2 = v0, v3 = v0, w0 = v0, w1 = v0, w2 = v0, w3 = v0;
            for (; t < k4; t += 4, bi += 4 * nr) {
                FloatVector x = FloatVector.broadcast(s, a[aOff + t]);
                FloatVector y = FloatVector.broadcast(s, a[aOff + t + 1]);
                v0 = FloatVector.fromArray(s, b, bi).fma(x, v0);
                v1 = FloatVector.fromArray(s, b, bi + l).fma(x, v1);
                v2 = FloatVector.fromArray(s, b, bi + 2 * l).fma(x, v2);
                v3 = FloatVector.fromArray(s, b, bi + 3 * l).fma(x, v3);
                w0 = FloatVector.fromArray(s, b, bi + nr).fma(y, w0);
                w1 = FloatVector.fromArray(s, b, bi + nr + l).fma(y, w1);
                w2 = FloatVector.fromArray(s, b, bi + nr + 2 * l).fma(y, w2);
                w3 = FloatVector.fromArray(s, b, bi + nr + 3 * l).fma(y, w3);
                x = FloatVector.broadcast(s, a[aOff + t + 2]);
                y = FloatVector.broadcast(s, a[aOff + t + 3]);
                v0 = FloatVector.fromArray(s, b, bi + 2 * nr).fma(x, v0);
                v1 = FloatVector.fromArray(s, b, bi + 2 * nr + l).fma(x, v1);
                v2 = FloatVector.fromArray(s, b, bi + 2 * nr + 2 * l).fma(x, v2);
                v3 = FloatVector.fromArray(s, b, bi + 2 * nr + 3 * l).fma(x, v3);
                w0 = FloatVector.fromArray(s, b, bi + 3 * nr).fma(y, w0);
                w1 = FloatVector.fromArray(s, b, bi + 3 * nr + l).fma(y, w1);
                w2 = FloatVector.fromArray(s, b, bi + 3 * nr + 2 * l).fma(y, w2);
                w3 = FloatVector.fromArray(s, b, bi + 3 * nr + 3 * l).fma(y, w3);
            }
            if (t < kEven) {   // k % 4 ≥ 2: one more pair of rows
                FloatVector x = FloatVector.broadcast(s, a[aOff + t]);
                FloatVector y = FloatVector.broadcast(s, a[aOff + t + 1]);
                v0 = FloatVector.fromArray(s, b, bi).fma(x, v0);
                v1 = FloatVector.fromArray(s, b, bi + l).fma(x, v1);
                v2 = FloatVector.fromArray(s, b, bi + 2 * l).fma(x, v2);
                v3 = FloatVector.fromArray(s, b, bi + 3 * l).fma(x, v3);
                w0 = FloatVector.fromArray(s, b, bi + nr).fma(y, w0);
                w1 = FloatVector.fromArray(s, b, bi + nr + l).fma(y, w1);
                w2 = FloatVector.fromArray(s, b, bi + nr + 2 * l).fma(y, w2);
                w3 = FloatVector.fromArray(s, b, bi + nr + 3 * l).fma(y, w3);
                t += 2;
                bi += 2 * nr;
            }
            if (t < k) {   // odd k: the last step
                FloatVector x = FloatVector.broadcast(s, a[aOff + t]);
                v0 = FloatVector.fromArray(s, b, bi).fma(x, v0);
                v1 = FloatVector.fromArray(s, b, bi + l).fma(x, v1);
                v2 = FloatVector.fromArray(s, b, bi + 2 * l).fma(x, v2);
                v3 = FloatVector.fromArray(s, b, bi + 3 * l).fma(x, v3);
            }
            int o = cOff + p * nr, bo = baseOff + p * nr;
            FloatVector.fromArray(s, base, bo).add(v0.add(w0)).intoArray(c, o);
            FloatVector.fromArray(s, base, bo + l).add(v1.add(w1)).intoArray(c, o + l);
            FloatVector.fromArray(s, base, bo + 2 * l).add(v2.add(w2)).intoArray(c, o + 2 * l);
            FloatVector.fromArray(s, base, bo + 3 * l).add(v3.add(w3)).intoArray(c, o + 3 * l);
        }
    }

    /** {@link #gemv4} with 3 vectors a row (the narrower species' panels). */
    private static void gemv3(float[] a, int aOff, int k, float[] b, int bFirst, int panelStride, int panels, float[] c, int cOff,
                              float[] base, int baseOff) {
        VectorSpecies<Float> s = S;
        int l = s.length(), nr = NV * l, kEven = k & ~1;
        for (int p = 0; p < panels; p++) {
            int bi = bFirst + p * panelStride;
            FloatVector v0 = FloatVector.zero(s), v1 = v0, v2 = v0, w0 = v0, w1 = v0, w2 = v0;
            for (int t = 0; t < kEven; t += 2, bi += 2 * nr) {
                FloatVector x = FloatVector.broadcast(s, a[aOff + t]);
                FloatVector y = FloatVector.broadcast(s, a[aOff + t + 1]);
                v0 = FloatVector.fromArray(s, b, bi).fma(x, v0);
                v1 = FloatVector.fromArray(s, b, bi + l).fma(x, v1);
                v2 = FloatVector.fromArray(s, b, bi + 2 * l).fma(x, v2);
                w0 = FloatVector.fromArray(s, b, bi + nr).fma(y, w0);
                w1 = FloatVector.fromArray(s, b, bi + nr + l).fma(y, w1);
                w2 = FloatVector.fromArray(s, b, bi + nr + 2 * l).fma(y, w2);
            }
            if (kEven < k) {
                FloatVector x = FloatVector.broadcast(s, a[aOff + kEven]);
                v0 = FloatVector.fromArray(s, b, bi).fma(x, v0);
                v1 = FloatVector.fromArray(s, b, bi + l).fma(x, v1);
                v2 = FloatVector.fromArray(s, b, bi + 2 * l).fma(x, v2);
            }
            int o = cOff + p * nr, bo = baseOff + p * nr;
            FloatVector.fromArray(s, base, bo).add(v0.add(w0)).intoArray(c, o);
            FloatVector.fromArray(s, base, bo + l).add(v1.add(w1)).intoArray(c, o + l);
            FloatVector.fromArray(s, base, bo + 2 * l).add(v2.add(w2)).intoArray(c, o + 2 * l);
        }
    }

    /** Shorts and ints with as many lanes as {@link #S}: bf16 bits widen short → int, then shift into a float's high half. */
    private static final VectorSpecies<Short> HALF = VectorSpecies.of(short.class, VectorShape.forBitSize(S.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, S.vectorShape());

    /** The bf16 values b[i..i+lanes) as a float vector. */
    private static FloatVector widen(short[] b, int i) {
        IntVector bits = (IntVector) ShortVector.fromArray(HALF, b, i).convertShape(VectorOperators.S2I, INTS, 0);
        return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    @Override
    void widenBf16(short[] src, int srcOff, float[] dst, int dstOff, int n) {
        int l = S.length(), i = 0;
        for (; i + l <= n; i += l) {
            widen(src, srcOff + i).intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            dst[dstOff + i] = bf16ToFloat(src[srcOff + i]);
        }
    }

    /** {@link #gemv} over bf16 panels: each load widens a vector of weights, half the bytes streamed. */
    @Override
    void gemvBf16(float[] x, int xOff, int k, short[] b, int p0, int p1, float[] y, int yOff, float[] base, int baseOff) {
        if (WIDE) {
            gemv4Bf16(x, xOff, k, b, p0, p1, y, yOff, base, baseOff);
        } else {
            gemv3Bf16(x, xOff, k, b, p0, p1, y, yOff, base, baseOff);
        }
    }

    /** {@link #gemv4} reading bf16 panels p0..p1. */
    private static void gemv4Bf16(float[] a, int aOff, int k, short[] b, int p0, int p1, float[] c, int cOff, float[] base,
                                  int baseOff) {
        VectorSpecies<Float> s = S;
        int l = s.length(), nr = 4 * l, kEven = k & ~1;
        for (int p = p0; p < p1; p++) {
            int bi = p * k * nr;
            FloatVector v0 = FloatVector.zero(s), v1 = v0, v2 = v0, v3 = v0, w0 = v0, w1 = v0, w2 = v0, w3 = v0;
            for (int t = 0; t < kEven; t += 2, bi += 2 * nr) {
                FloatVector x = FloatVector.broadcast(s, a[aOff + t]);
                FloatVector y = FloatVector.broadcast(s, a[aOff + t + 1]);
                v0 = widen(b, bi).fma(x, v0);
                v1 = widen(b, bi + l).fma(x, v1);
                v2 = widen(b, bi + 2 * l).fma(x, v2);
                v3 = widen(b, bi + 3 * l).fma(x, v3);
                w0 = widen(b, bi + nr).fma(y, w0);
                w1 = widen(b, bi + nr + l).fma(y, w1);
                w2 = widen(b, bi + nr + 2 * l).fma(y, w2);
                w3 = widen(b, bi + nr + 3 * l).fma(y, w3);
            }
            if (kEven < k) {
                FloatVector x = FloatVector.broadcast(s, a[aOff + kEven]);
                v0 = widen(b, bi).fma(x, v0);
                v1 = widen(b, bi + l).fma(x, v1);
                v2 = widen(b, bi + 2 * l).fma(x, v2);
                v3 = widen(b, bi + 3 * l).fma(x, v3);
            }
            int o = cOff + p * nr, bo = baseOff + p * nr;
            FloatVector.fromArray(s, base, bo).add(v0.add(w0)).intoArray(c, o);
            FloatVector.fromArray(s, base, bo + l).add(v1.add(w1)).intoArray(c, o + l);
            FloatVector.fromArray(s, base, bo + 2 * l).add(v2.add(w2)).intoArray(c, o + 2 * l);
            FloatVector.fromArray(s, base, bo + 3 * l).add(v3.add(w3)).intoArray(c, o + 3 * l);
        }
    }

    /** {@link #gemv3} reading bf16 panels p0..p1 (the narrower species). */
    private static void gemv3Bf16(float[] a, int aOff, int k, short[] b, int p0, int p1, float[] c, int cOff, float[] base,
                                  int baseOff) {
        VectorSpecies<Float> s = S;
        int l = s.length(), nr = NV * l, kEven = k & ~1;
        for (int p = p0; p < p1; p++) {
            int bi = p * k * nr;
            FloatVector v0 = FloatVector.zero(s), v1 = v0, v2 = v0, w0 = v0, w1 = v0, w2 = v0;
            for (int t = 0; t < kEven; t += 2, bi += 2 * nr) {
                FloatVector x = FloatVector.broadcast(s, a[aOff + t]);
                FloatVector y = FloatVector.broadcast(s, a[aOff + t + 1]);
                v0 = widen(b, bi).fma(x, v0);
                v1 = widen(b, bi + l).fma(x, v1);
                v2 = widen(b, bi + 2 * l).fma(x, v2);
                w0 = widen(b, bi + nr).fma(y, w0);
                w1 = widen(b, bi + nr + l).fma(y, w1);
                w2 = widen(b, bi + nr + 2 * l).fma(y, w2);
            }
            if (kEven < k) {
                FloatVector x = FloatVector.broadcast(s, a[aOff + kEven]);
                v0 = widen(b, bi).fma(x, v0);
                v1 = widen(b, bi + l).fma(x, v1);
                v2 = widen(b, bi + 2 * l).fma(x, v2);
            }
            int o = cOff + p * nr, bo = baseOff + p * nr;
            FloatVector.fromArray(s, base, bo).add(v0.add(w0)).intoArray(c, o);
            FloatVector.fromArray(s, base, bo + l).add(v1.add(w1)).intoArray(c, o + l);
            FloatVector.fromArray(s, base, bo + 2 * l).add(v2.add(w2)).intoArray(c, o + 2 * l);
        }
    }

    /**
     * Bytes with (at least) as many lanes as {@link #S}: 16 bytes for 512-bit floats, 8 below (64 bits is the
     * narrowest byte vector; at 128 bits only its first 4 lanes are converted, see PackedLinear's padding).
     */
    private static final VectorSpecies<Byte> QUARTER = VectorSpecies.of(byte.class,
            VectorShape.forBitSize(Math.max(64, S.vectorBitSize() / 4)));

    /**
     * The int8 values q[i..i+lanes) as a float vector: a sign-extending load to ints, then int → float. Written
     * as two conversions on purpose: the single B2F conversion compiled to slower code (an int8 GEMV at 20.0
     * against 26.6 G weights/s from memory, 24.7 against 28.6 from L2; Zen 4, 512 bits, JDK 25).
     *
     * <p>Other widening orders, measured in {@link #gemvInt8}'s loop over GPT-2's LM head (768 × 50304 int8,
     * from memory; 1-thread CPU time, best of 30 interleaved rounds on a loaded machine, Zen 4, JDK 25): this
     * one 25.9 G weights/s; one accumulator set instead of two 25.5; int → float by the magic number
     * (add 0x4B400000 as int, view as float, subtract 1.5·2²³: no cvt, an integer add and a float subtract)
     * 21.7, and half of the rows one way, half the other 24.2; one 64-byte load split into four B2I parts, or
     * bytes → shorts (B2S) then S2I parts, 1.6–1.7 (the JIT does not intrinsify a conversion part other than 0,
     * and falls back to Java loops). Multiplying bytes as shorts in pairs would need the activations quantised
     * too (other numerics, as ONNX Runtime's int8). So per 16 weights the loop stays one widening load, one
     * cvt and one FMA, and those two floating-point ops, not memory, bound it on one Zen 4 core.
     *
     * <p>On Zen 5 (two 512-bit FMA pipes) the same loop does 66–69 G weights/s from L2 and 32–36 from memory,
     * 90–98% of the float GEMV's bytes per second: bound by memory. Measured there and slower or even (LM head
     * from memory, one variant per JVM, CPU time; docs/benchmarks-models.md, "Tenth session"): two panels per
     * pass 27.7 against 33.6–33.9; 256-bit vectors 28.8; one 64-byte load split by shifts 28.2–28.8, or by
     * byte rearranges and B2I part 0 28.9–29.9; the scales inside the byte stream 15.3–15.7; bf16 scales
     * 31.5–31.8; the block's scales loaded before its loop or a block ahead, even; a scalar touch 2–32 KB ahead
     * 19–30.
     *
     * <p>In C2's machine code (JDK 25, Zen 5; benchmarks/disassembler.sh) this is a 16-byte load, {@code vpmovsxbd}
     * and {@code vcvtdq2ps} (the load is not folded into the widening); one B2F conversion compiles to the same
     * three instructions and measured the same (thirteenth session).
     */
    private static FloatVector widen(byte[] q, int i) {
        IntVector ints = (IntVector) ByteVector.fromArray(QUARTER, q, i).convertShape(VectorOperators.B2I, INTS, 0);
        return (FloatVector) ints.convert(VectorOperators.I2F, 0);
    }

    /** The 16-bit scales of columns c..c+lanes (any width's lanes lie in one half of the ints) as floats ({@link PackedLinear#scale}). */
    private static FloatVector scalesOf(int[] scales, int row, int c) {
        return IntVector.fromArray(INTS, scales, row + PackedLinear.scaleIndex(c)).lanewise(VectorOperators.LSHL, c & 16)
                .lanewise(VectorOperators.LSHR, 3).lanewise(VectorOperators.AND, 0xFFFF << 13).add(PackedLinear.SCALE_BIAS)
                .reinterpretAsFloats();
    }

    /**
     * {@link #gemv} over int8 panels, one kernel for every width: a panel row is 4 vectors at 512 bits and 3
     * below ({@link #WIDE} is a constant, so the JIT drops the fourth where it is unused). Within a block of
     * {@link PackedLinear#QBLOCK} rows, steps t and t+1 feed separate accumulators (v, w: loads in flight, as
     * in {@link #gemv4}); at the end of the block their sum times the block's scale row goes into the total.
     *
     * <p>The pair loop runs while {@code t < tEven}: written as {@code t + 1 < t1} C2 did not take it for a counted
     * loop, and its machine code checked x's and q's bounds and polled for a safepoint every two rows, reloading
     * array bases it had spilled (seen with benchmarks/disassembler.sh; counted: +10% from L2, even from memory).
     * Per two rows it is now 2 broadcasts, 8 loads, 8 widenings, 8 conversions, 8 FMAs and 3 loop instructions.
     */
    @Override
    void gemvInt8(float[] x, int xOff, int k, byte[] q, int[] scales, int p0, int p1, float[] y, int yOff, float[] base,
                  int baseOff) {
        VectorSpecies<Float> s = S;
        int l = s.length(), nr = panelWidth(), kBlocks = (k + PackedLinear.QBLOCK - 1) / PackedLinear.QBLOCK;
        int sr = PackedLinear.scaleInts(nr);
        FloatVector zero = FloatVector.zero(s);
        for (int p = p0; p < p1; p++) {
            int qi = p * k * nr, si = p * kBlocks * sr;
            FloatVector total0 = zero, total1 = zero, total2 = zero, total3 = zero;
            for (int t0 = 0; t0 < k; t0 += PackedLinear.QBLOCK, si += sr) {
                int t1 = Math.min(k, t0 + PackedLinear.QBLOCK), tEven = t0 + ((t1 - t0) & ~1), t = t0;
                FloatVector v0 = zero, v1 = zero, v2 = zero, v3 = zero, w0 = zero, w1 = zero, w2 = zero, w3 = zero;
                for (; t < tEven; t += 2, qi += 2 * nr) {
                    FloatVector a = FloatVector.broadcast(s, x[xOff + t]);
                    FloatVector b = FloatVector.broadcast(s, x[xOff + t + 1]);
                    v0 = widen(q, qi).fma(a, v0);
                    v1 = widen(q, qi + l).fma(a, v1);
                    v2 = widen(q, qi + 2 * l).fma(a, v2);
                    w0 = widen(q, qi + nr).fma(b, w0);
                    w1 = widen(q, qi + nr + l).fma(b, w1);
                    w2 = widen(q, qi + nr + 2 * l).fma(b, w2);
                    if (WIDE) {
                        v3 = widen(q, qi + 3 * l).fma(a, v3);
                        w3 = widen(q, qi + nr + 3 * l).fma(b, w3);
                    }
                }
                if (t < t1) {   // an odd block (the last one, when k is odd)
                    FloatVector a = FloatVector.broadcast(s, x[xOff + t]);
                    v0 = widen(q, qi).fma(a, v0);
                    v1 = widen(q, qi + l).fma(a, v1);
                    v2 = widen(q, qi + 2 * l).fma(a, v2);
                    if (WIDE) {
                        v3 = widen(q, qi + 3 * l).fma(a, v3);
                    }
                    qi += nr;
                }
                // The block's 16-bit scales (PackedLinear.scale), decoded here rather than in a helper method: C2
                // stops inlining helpers at NodeCountInliningCutoff, and the last ones parsed were left as calls
                // that box their vectors (seen in PrintInlining and the machine code).
                if (WIDE) {   // ints si.. hold columns 0-15 (high halves) and 16-31 (low), si + 16.. 32-47 and 48-63
                    IntVector s01 = IntVector.fromArray(INTS, scales, si), s23 = IntVector.fromArray(INTS, scales, si + l);
                    total0 = v0.add(w0).fma(s01.lanewise(VectorOperators.LSHR, 16).lanewise(VectorOperators.LSHL, 13)
                            .add(PackedLinear.SCALE_BIAS).reinterpretAsFloats(), total0);
                    total1 = v1.add(w1).fma(s01.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.LSHR, 3)
                            .add(PackedLinear.SCALE_BIAS).reinterpretAsFloats(), total1);
                    total2 = v2.add(w2).fma(s23.lanewise(VectorOperators.LSHR, 16).lanewise(VectorOperators.LSHL, 13)
                            .add(PackedLinear.SCALE_BIAS).reinterpretAsFloats(), total2);
                    total3 = v3.add(w3).fma(s23.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.LSHR, 3)
                            .add(PackedLinear.SCALE_BIAS).reinterpretAsFloats(), total3);
                } else {   // 8 or 4 lanes: the vector of columns c.. lies within one half of the ints at scaleIndex(c)
                    total0 = v0.add(w0).fma(scalesOf(scales, si, 0), total0);
                    total1 = v1.add(w1).fma(scalesOf(scales, si, l), total1);
                    total2 = v2.add(w2).fma(scalesOf(scales, si, 2 * l), total2);
                }
            }
            int o = yOff + p * nr, bo = baseOff + p * nr;
            FloatVector.fromArray(s, base, bo).add(total0).intoArray(y, o);
            FloatVector.fromArray(s, base, bo + l).add(total1).intoArray(y, o + l);
            FloatVector.fromArray(s, base, bo + 2 * l).add(total2).intoArray(y, o + 2 * l);
            if (WIDE) {
                FloatVector.fromArray(s, base, bo + 3 * l).add(total3).intoArray(y, o + 3 * l);
            }
        }
    }

    @Override
    void dequantInt8(byte[] q, int qOff, int[] scales, int sOff, int rows, float[] dst, int dstOff) {
        int l = S.length(), nr = panelWidth();
        for (int j = 0; j < nr; j += l) {
            FloatVector scale = scalesOf(scales, sOff, j);
            for (int r = 0; r < rows; r++) {
                widen(q, qOff + r * nr + j).mul(scale).intoArray(dst, dstOff + r * nr + j);
            }
        }
    }

    // ---------------------------------------------------------------- vector × matrix

    @Override
    void vecMat(float[] x, int xOff, int k, float[] m, int mOff, int ld, int n, float[] out, int outOff) {
        oneRow(x, xOff, 1, k, m, mOff, ld, n, out, outOff);
    }

    /** {@link #vecMat} with x[xOff + t·xStep]: a row of A, or a column of a transposed A. */
    private static void oneRow(float[] x, int xOff, int xStep, int k, float[] m, int mOff, int ld, int n,
                               float[] out, int outOff) {
        VectorSpecies<Float> s = S;
        int l = s.length();
        int j = 0;
        // Four vectors of columns at a time: four independent FMA chains per broadcast.
        for (; j + 4 * l <= n; j += 4 * l) {
            FloatVector acc0 = FloatVector.zero(s), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int t = 0, xi = xOff, row = mOff + j; t < k; t++, xi += xStep, row += ld) {
                FloatVector xt = FloatVector.broadcast(s, x[xi]);
                acc0 = FloatVector.fromArray(s, m, row).fma(xt, acc0);
                acc1 = FloatVector.fromArray(s, m, row + l).fma(xt, acc1);
                acc2 = FloatVector.fromArray(s, m, row + 2 * l).fma(xt, acc2);
                acc3 = FloatVector.fromArray(s, m, row + 3 * l).fma(xt, acc3);
            }
            acc0.intoArray(out, outOff + j);
            acc1.intoArray(out, outOff + j + l);
            acc2.intoArray(out, outOff + j + 2 * l);
            acc3.intoArray(out, outOff + j + 3 * l);
        }
        for (; j + l <= n; j += l) {
            FloatVector acc = FloatVector.zero(s);
            for (int t = 0, xi = xOff, row = mOff + j; t < k; t++, xi += xStep, row += ld) {
                acc = FloatVector.fromArray(s, m, row).fma(FloatVector.broadcast(s, x[xi]), acc);
            }
            acc.intoArray(out, outOff + j);
        }
        for (; j < n; j++) {
            float sum = 0;
            for (int t = 0, xi = xOff, row = mOff + j; t < k; t++, xi += xStep, row += ld) {
                sum = Math.fma(x[xi], m[row], sum);
            }
            out[outOff + j] = sum;
        }
    }

    // ---------------------------------------------------------------- small products for attention

    @Override
    void matMulRows(float[] a, int aOff, int lda, int rows, int k, float[] b, int bOff, int ldb, int n,
                    float[] c, int cOff, int ldc) {
        product(a, aOff, lda, 1, rows, k, b, bOff, ldb, n, c, cOff, ldc);
    }

    @Override
    void matMulTransposedRows(float[] a, int aOff, int lda, int rows, int k, float[] b, int bOff, int ldb, int n,
                              float[] c, int cOff, int ldc) {
        product(a, aOff, 1, lda, rows, k, b, bOff, ldb, n, c, cOff, ldc);
    }

    /**
     * C = A·B with A[r, t] at a[aOff + r·rowStep + t·tStep]: A row-major (tStep 1) or given as its transpose
     * (rowStep 1: each step t broadcasts a run of A's rows side by side). Every element of C is one chain of
     * FMAs over t from 0, whatever tile computes it, so both layouts and all tiles give the same bits.
     * C two vectors wide: with A row-major an 8 × 2 tile (16 accumulators as 4 × 4) measured slower than 4 × 2
     * on attention's 32-wide heads, in cache and out of it (P·V from P, #14c); with A given transposed its 8
     * broadcasts a step are 8 consecutive floats, and {@link #eightRowsTwoVectors} measured faster (P·V from Pᵀ in
     * {@link #attentionBlock}, #20l). The backward's transposed products (dVᵀ = dCᵀ·P, dKᵀ = Qᵀ·dS, n = Tk)
     * take it too where Tk is two vectors (s32 at 512 bits), and were not slower for it (AttentionParts 32 32 12 32,
     * 1 thread, CPU time, A B three times on a loaded machine: dKᵀ 0.19–0.21 ms a layer against 0.22–0.24 with 4 × 2,
     * dVᵀ 0.25–0.35 against 0.29–0.49).
     */
    private static void product(float[] a, int aOff, int rowStep, int tStep, int rows, int k, float[] b, int bOff,
                                int ldb, int n, float[] c, int cOff, int ldc) {
        int r = 0;
        if (rowStep == 1 && n == 2 * S.length()) {   // Aᵀ given, C two vectors wide: 8 × 2 tiles
            for (; r + 8 <= rows; r += 8) {
                eightRowsTwoVectors(a, aOff + r, tStep, k, b, bOff, ldb, c, cOff + r * ldc, ldc);
            }
        }
        for (; r + 4 <= rows; r += 4) {
            fourRows(a, aOff + r * rowStep, rowStep, tStep, k, b, bOff, ldb, n, c, cOff + r * ldc, ldc);
        }
        for (; r < rows; r++) {
            oneRow(a, aOff + r * rowStep, tStep, k, b, bOff, ldb, n, c, cOff + r * ldc);
        }
    }

    /**
     * Eight rows of C = A·B, C two vectors wide, A given transposed (the 8 rows' entries of step t side by side at
     * a[aOff + t·ts]): 16 accumulators, 2 loads of B and 8 broadcasts of consecutive floats per 16 FMAs. Attention's
     * P·V from Pᵀ at d = 2 lanes, where the 4 × 2 tile's 8 accumulators are just as many as the FMAs' latency needs
     * and leave no slack: {@link #attentionBlock} at MiniLM's heads (b1 s128, 12 heads, d = 32, 1 thread, Zen 5, CPU
     * time) 203–210 µs a call against 236–246 with 4 × 2 (docs/benchmarks.md, #20l). 19 vector registers live: at
     * 256 bits on a core with 16 (AVX2 without AVX-512) it would spill; not measured there.
     */
    private static void eightRowsTwoVectors(float[] a, int aOff, int ts, int k, float[] b, int bOff, int ldb, float[] c,
                                            int cOff, int ldc) {
        VectorSpecies<Float> s = S;
        int l = s.length();
        FloatVector v00 = FloatVector.zero(s), v01 = v00, v10 = v00, v11 = v00, v20 = v00, v21 = v00;
        FloatVector v30 = v00, v31 = v00, v40 = v00, v41 = v00, v50 = v00, v51 = v00, v60 = v00, v61 = v00;
        FloatVector v70 = v00, v71 = v00;
        for (int t = 0, ai = aOff, bi = bOff; t < k; t++, ai += ts, bi += ldb) {
            FloatVector b0 = FloatVector.fromArray(s, b, bi), b1 = FloatVector.fromArray(s, b, bi + l);
            FloatVector x = FloatVector.broadcast(s, a[ai]);
            v00 = b0.fma(x, v00); v01 = b1.fma(x, v01);
            x = FloatVector.broadcast(s, a[ai + 1]);
            v10 = b0.fma(x, v10); v11 = b1.fma(x, v11);
            x = FloatVector.broadcast(s, a[ai + 2]);
            v20 = b0.fma(x, v20); v21 = b1.fma(x, v21);
            x = FloatVector.broadcast(s, a[ai + 3]);
            v30 = b0.fma(x, v30); v31 = b1.fma(x, v31);
            x = FloatVector.broadcast(s, a[ai + 4]);
            v40 = b0.fma(x, v40); v41 = b1.fma(x, v41);
            x = FloatVector.broadcast(s, a[ai + 5]);
            v50 = b0.fma(x, v50); v51 = b1.fma(x, v51);
            x = FloatVector.broadcast(s, a[ai + 6]);
            v60 = b0.fma(x, v60); v61 = b1.fma(x, v61);
            x = FloatVector.broadcast(s, a[ai + 7]);
            v70 = b0.fma(x, v70); v71 = b1.fma(x, v71);
        }
        v00.intoArray(c, cOff); v01.intoArray(c, cOff + l);
        v10.intoArray(c, cOff + ldc); v11.intoArray(c, cOff + ldc + l);
        v20.intoArray(c, cOff + 2 * ldc); v21.intoArray(c, cOff + 2 * ldc + l);
        v30.intoArray(c, cOff + 3 * ldc); v31.intoArray(c, cOff + 3 * ldc + l);
        v40.intoArray(c, cOff + 4 * ldc); v41.intoArray(c, cOff + 4 * ldc + l);
        v50.intoArray(c, cOff + 5 * ldc); v51.intoArray(c, cOff + 5 * ldc + l);
        v60.intoArray(c, cOff + 6 * ldc); v61.intoArray(c, cOff + 6 * ldc + l);
        v70.intoArray(c, cOff + 7 * ldc); v71.intoArray(c, cOff + 7 * ldc + l);
    }

    /** Four rows of C = A·B (A as in {@link #product}): 4 × 4-vector tiles (16 accumulators, 4 loads of B and 4 broadcasts per 16 FMAs), then 4 × 2, then 4 × 1 with a masked tail. */
    private static void fourRows(float[] a, int aOff, int rs, int ts, int k, float[] b, int bOff, int ldb, int n,
                                 float[] c, int cOff, int ldc) {
        VectorSpecies<Float> s = S;
        int l = s.length();
        int a1 = rs, a2 = 2 * rs, a3 = 3 * rs;
        int j = 0;
        for (; j + 4 * l <= n; j += 4 * l) {
            FloatVector v00 = FloatVector.zero(s), v01 = v00, v02 = v00, v03 = v00, v10 = v00, v11 = v00, v12 = v00, v13 = v00;
            FloatVector v20 = v00, v21 = v00, v22 = v00, v23 = v00, v30 = v00, v31 = v00, v32 = v00, v33 = v00;
            for (int t = 0, ai = aOff, bi = bOff + j; t < k; t++, ai += ts, bi += ldb) {
                FloatVector b0 = FloatVector.fromArray(s, b, bi), b1 = FloatVector.fromArray(s, b, bi + l);
                FloatVector b2 = FloatVector.fromArray(s, b, bi + 2 * l), b3 = FloatVector.fromArray(s, b, bi + 3 * l);
                FloatVector x = FloatVector.broadcast(s, a[ai]);
                v00 = b0.fma(x, v00); v01 = b1.fma(x, v01); v02 = b2.fma(x, v02); v03 = b3.fma(x, v03);
                x = FloatVector.broadcast(s, a[ai + a1]);
                v10 = b0.fma(x, v10); v11 = b1.fma(x, v11); v12 = b2.fma(x, v12); v13 = b3.fma(x, v13);
                x = FloatVector.broadcast(s, a[ai + a2]);
                v20 = b0.fma(x, v20); v21 = b1.fma(x, v21); v22 = b2.fma(x, v22); v23 = b3.fma(x, v23);
                x = FloatVector.broadcast(s, a[ai + a3]);
                v30 = b0.fma(x, v30); v31 = b1.fma(x, v31); v32 = b2.fma(x, v32); v33 = b3.fma(x, v33);
            }
            int c0 = cOff + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
            v00.intoArray(c, c0); v01.intoArray(c, c0 + l); v02.intoArray(c, c0 + 2 * l); v03.intoArray(c, c0 + 3 * l);
            v10.intoArray(c, c1); v11.intoArray(c, c1 + l); v12.intoArray(c, c1 + 2 * l); v13.intoArray(c, c1 + 3 * l);
            v20.intoArray(c, c2); v21.intoArray(c, c2 + l); v22.intoArray(c, c2 + 2 * l); v23.intoArray(c, c2 + 3 * l);
            v30.intoArray(c, c3); v31.intoArray(c, c3 + l); v32.intoArray(c, c3 + 2 * l); v33.intoArray(c, c3 + 3 * l);
        }
        if (j + 2 * l <= n) {   // two vectors left: 4 × 2 tile
            FloatVector v00 = FloatVector.zero(s), v01 = v00, v10 = v00, v11 = v00, v20 = v00, v21 = v00, v30 = v00, v31 = v00;
            for (int t = 0, ai = aOff, bi = bOff + j; t < k; t++, ai += ts, bi += ldb) {
                FloatVector b0 = FloatVector.fromArray(s, b, bi), b1 = FloatVector.fromArray(s, b, bi + l);
                FloatVector x = FloatVector.broadcast(s, a[ai]);
                v00 = b0.fma(x, v00); v01 = b1.fma(x, v01);
                x = FloatVector.broadcast(s, a[ai + a1]);
                v10 = b0.fma(x, v10); v11 = b1.fma(x, v11);
                x = FloatVector.broadcast(s, a[ai + a2]);
                v20 = b0.fma(x, v20); v21 = b1.fma(x, v21);
                x = FloatVector.broadcast(s, a[ai + a3]);
                v30 = b0.fma(x, v30); v31 = b1.fma(x, v31);
            }
            int c0 = cOff + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
            v00.intoArray(c, c0); v01.intoArray(c, c0 + l); v10.intoArray(c, c1); v11.intoArray(c, c1 + l);
            v20.intoArray(c, c2); v21.intoArray(c, c2 + l); v30.intoArray(c, c3); v31.intoArray(c, c3 + l);
            j += 2 * l;
        }
        for (; j < n; j += l) {
            VectorMask<Float> m = s.indexInRange(j, n);
            FloatVector v0 = FloatVector.zero(s), v1 = v0, v2 = v0, v3 = v0;
            for (int t = 0, ai = aOff, bi = bOff + j; t < k; t++, ai += ts, bi += ldb) {
                FloatVector bv = FloatVector.fromArray(s, b, bi, m);
                v0 = bv.fma(FloatVector.broadcast(s, a[ai]), v0);
                v1 = bv.fma(FloatVector.broadcast(s, a[ai + a1]), v1);
                v2 = bv.fma(FloatVector.broadcast(s, a[ai + a2]), v2);
                v3 = bv.fma(FloatVector.broadcast(s, a[ai + a3]), v3);
            }
            v0.intoArray(c, cOff + j, m);
            v1.intoArray(c, cOff + ldc + j, m);
            v2.intoArray(c, cOff + 2 * ldc + j, m);
            v3.intoArray(c, cOff + 3 * ldc + j, m);
        }
    }

    // ---------------------------------------------------------------- attention with the queries across the lanes

    @Override
    int attentionBlockRows() {
        return 2 * S.length();
    }

    @Override
    int attentionWorkFloats(int d, int keys) {   // Qᵀ of two halves, Sᵀ and its maximum twice, the sums (attentionBlock)
        return (2 * d + 2 * (keys + 1) + S.length()) * S.length();
    }

    @Override
    void scaledCopy(float[] src, int srcOff, int srcStride, int rows, int cols, float scale, float[] dst) {
        VectorSpecies<Float> s = S;
        int l = s.length(), bound = s.loopBound(cols);
        for (int r = 0; r < rows; r++) {
            int from = srcOff + r * srcStride, to = r * cols, c = 0;
            for (; c < bound; c += l) {
                FloatVector.fromArray(s, src, from + c).mul(scale).intoArray(dst, to + c);
            }
            for (; c < cols; c++) {
                dst[to + c] = scale * src[from + c];
            }
        }
    }

    /**
     * The block's scores, probabilities and context with lane r of every vector holding query row r of a half-block of
     * L = lanes rows (up to two halves; rows past {@code rows} are zero queries whose results are never read): work =
     * [Qᵀ: 2 × d × L | Sᵀ of the first half: keys × L, then their maximum: L | the same for the second half | sums:
     * L × L]. The scores come out as one vector of L queries per key, so the softmax takes each query's maximum and
     * sum as lane-wise max and add over the keys — no lane reductions, and every exp of the block in one long run of
     * independent vectors (a row of 16 keys is one vector, and its two reductions cost more than its exp). The sums
     * keep the order of {@link #softmaxRow}'s: lane i of its running vector sums keys i, i + L, i + 2L … , the L
     * partial sums meet in {@link #addLanes}' tree, then the keys past the last whole vector one by one — so the
     * probabilities have the same bits as the rows'. P·V reads Pᵀ as {@link #product}'s transposed A: each step
     * broadcasts L consecutive floats, the same FMAs in the same order as from P.
     */
    @Override
    void attentionBlock(float[] q, int qOff, int qStride, int rows, float[] kS, int keys, int d, float[] bias,
                        int biasOff, float[] v, int vOff, int vStride, float[] c, int cOff, int ldc, float[] work) {
        int l = S.length(), first = Math.min(rows, l), second = rows - first;
        int qB = d * l, sA = 2 * d * l, sB = sA + (keys + 1) * l, sums = sB + (keys + 1) * l;
        if (rows < 2 * l) {   // the unused lanes compute on zero queries, not on stale floats (a −∞ or subnormal costs)
            java.util.Arrays.fill(work, 0, 2 * d * l, 0f);
        }
        transposeQ(q, qOff, qStride, first, d, work, 0);   // Qᵀ: work[t·L + r] = q_r[t]
        if (second > 0) {
            transposeQ(q, qOff + l * qStride, qStride, second, d, work, qB);
            scoresInLanesTwice(work, kS, keys, d, bias, biasOff, qB, sA, sB);
        } else {
            scoresInLanes(work, kS, keys, d, bias, biasOff, sA);
        }
        softmaxThroughHandle(work, sA, keys, sums);
        product(work, sA, 1, l, first, keys, v, vOff, vStride, d, c, cOff, ldc);
        if (second > 0) {
            softmaxThroughHandle(work, sB, keys, sums);
            product(work, sB, 1, l, second, keys, v, vOff, vStride, d, c, cOff + l * ldc, ldc);
        }
    }

    /** {@link #transposeQ}'s index vectors at 512 bits: stage m's two selects of rows r and r + m (lanes of b from 16). */
    private static final IntVector[] TRANSPOSE_16 = transposeIndexes();

    private static IntVector[] transposeIndexes() {
        if (INTS.length() != 16) {
            return null;
        }
        IntVector[] out = new IntVector[8];
        for (int st = 0, m = 8; m > 0; st++, m /= 2) {
            int[] lo = new int[16], hi = new int[16];
            for (int lane = 0; lane < 16; lane++) {
                boolean left = lane % (2 * m) < m;
                lo[lane] = left ? lane : 16 + lane - m;
                hi[lane] = left ? lane + m : 16 + lane;
            }
            out[2 * st] = IntVector.fromArray(INTS, lo, 0);
            out[2 * st + 1] = IntVector.fromArray(INTS, hi, 0);
        }
        return out;
    }

    /**
     * Qᵀ of a half-block for {@link #attentionBlock}: w[wOff + t·L + r] = q[qOff + r·qStride + t] for r &lt; rows, t &lt; d
     * (lanes r ≥ rows left as they are, zero). At 512 bits with a whole half-block (16 rows), 16 rows × 16 columns at a
     * time are loaded as 16 vectors and transposed in registers — four stages, each swapping the off-diagonal blocks of
     * m × m (m = 8, 4, 2, 1) by two-vector lane selects (vpermi2d), 64 selects, 16 loads and 16 stores instead of 256
     * scalar loads and stores. The columns past the last 16, a partial half-block and every other width go through
     * {@link Kernels#transpose}. A copy: the same bits.
     */
    private static void transposeQ(float[] q, int qOff, int qStride, int rows, int d, float[] w, int wOff) {
        VectorSpecies<Float> s = S;
        int t0 = 0;
        if (s.length() == 16 && rows == 16) {
            IntVector[] ix = TRANSPOSE_16;
            IntVector i8l = ix[0], i8h = ix[1], i4l = ix[2], i4h = ix[3], i2l = ix[4], i2h = ix[5], i1l = ix[6], i1h = ix[7];
            for (; t0 + 16 <= d; t0 += 16) {
                int o = qOff + t0;
                IntVector r0 = (IntVector) FloatVector.fromArray(s, q, o + 0 * qStride).reinterpretAsInts();
                IntVector r1 = (IntVector) FloatVector.fromArray(s, q, o + 1 * qStride).reinterpretAsInts();
                IntVector r2 = (IntVector) FloatVector.fromArray(s, q, o + 2 * qStride).reinterpretAsInts();
                IntVector r3 = (IntVector) FloatVector.fromArray(s, q, o + 3 * qStride).reinterpretAsInts();
                IntVector r4 = (IntVector) FloatVector.fromArray(s, q, o + 4 * qStride).reinterpretAsInts();
                IntVector r5 = (IntVector) FloatVector.fromArray(s, q, o + 5 * qStride).reinterpretAsInts();
                IntVector r6 = (IntVector) FloatVector.fromArray(s, q, o + 6 * qStride).reinterpretAsInts();
                IntVector r7 = (IntVector) FloatVector.fromArray(s, q, o + 7 * qStride).reinterpretAsInts();
                IntVector r8 = (IntVector) FloatVector.fromArray(s, q, o + 8 * qStride).reinterpretAsInts();
                IntVector r9 = (IntVector) FloatVector.fromArray(s, q, o + 9 * qStride).reinterpretAsInts();
                IntVector r10 = (IntVector) FloatVector.fromArray(s, q, o + 10 * qStride).reinterpretAsInts();
                IntVector r11 = (IntVector) FloatVector.fromArray(s, q, o + 11 * qStride).reinterpretAsInts();
                IntVector r12 = (IntVector) FloatVector.fromArray(s, q, o + 12 * qStride).reinterpretAsInts();
                IntVector r13 = (IntVector) FloatVector.fromArray(s, q, o + 13 * qStride).reinterpretAsInts();
                IntVector r14 = (IntVector) FloatVector.fromArray(s, q, o + 14 * qStride).reinterpretAsInts();
                IntVector r15 = (IntVector) FloatVector.fromArray(s, q, o + 15 * qStride).reinterpretAsInts();
                // stage m = 8 over all 16 rows; then rows 0–7 and 8–15 are independent: each half finished and stored
                // before the other (meant to keep fewer rows live; measured no faster than the stages in order, and
                // C2 still spills some rows)
                { IntVector a = r0, b = r8; r0 = i8l.selectFrom(a, b); r8 = i8h.selectFrom(a, b); }
                { IntVector a = r1, b = r9; r1 = i8l.selectFrom(a, b); r9 = i8h.selectFrom(a, b); }
                { IntVector a = r2, b = r10; r2 = i8l.selectFrom(a, b); r10 = i8h.selectFrom(a, b); }
                { IntVector a = r3, b = r11; r3 = i8l.selectFrom(a, b); r11 = i8h.selectFrom(a, b); }
                { IntVector a = r4, b = r12; r4 = i8l.selectFrom(a, b); r12 = i8h.selectFrom(a, b); }
                { IntVector a = r5, b = r13; r5 = i8l.selectFrom(a, b); r13 = i8h.selectFrom(a, b); }
                { IntVector a = r6, b = r14; r6 = i8l.selectFrom(a, b); r14 = i8h.selectFrom(a, b); }
                { IntVector a = r7, b = r15; r7 = i8l.selectFrom(a, b); r15 = i8h.selectFrom(a, b); }
                int to = wOff + t0 * 16;
                { IntVector a = r0, b = r4; r0 = i4l.selectFrom(a, b); r4 = i4h.selectFrom(a, b); }
                { IntVector a = r1, b = r5; r1 = i4l.selectFrom(a, b); r5 = i4h.selectFrom(a, b); }
                { IntVector a = r2, b = r6; r2 = i4l.selectFrom(a, b); r6 = i4h.selectFrom(a, b); }
                { IntVector a = r3, b = r7; r3 = i4l.selectFrom(a, b); r7 = i4h.selectFrom(a, b); }
                { IntVector a = r0, b = r2; r0 = i2l.selectFrom(a, b); r2 = i2h.selectFrom(a, b); }
                { IntVector a = r1, b = r3; r1 = i2l.selectFrom(a, b); r3 = i2h.selectFrom(a, b); }
                { IntVector a = r4, b = r6; r4 = i2l.selectFrom(a, b); r6 = i2h.selectFrom(a, b); }
                { IntVector a = r5, b = r7; r5 = i2l.selectFrom(a, b); r7 = i2h.selectFrom(a, b); }
                { IntVector a = r0, b = r1; r0 = i1l.selectFrom(a, b); r1 = i1h.selectFrom(a, b); }
                { IntVector a = r2, b = r3; r2 = i1l.selectFrom(a, b); r3 = i1h.selectFrom(a, b); }
                { IntVector a = r4, b = r5; r4 = i1l.selectFrom(a, b); r5 = i1h.selectFrom(a, b); }
                { IntVector a = r6, b = r7; r6 = i1l.selectFrom(a, b); r7 = i1h.selectFrom(a, b); }
                r0.reinterpretAsFloats().intoArray(w, to + 0);
                r1.reinterpretAsFloats().intoArray(w, to + 16);
                r2.reinterpretAsFloats().intoArray(w, to + 32);
                r3.reinterpretAsFloats().intoArray(w, to + 48);
                r4.reinterpretAsFloats().intoArray(w, to + 64);
                r5.reinterpretAsFloats().intoArray(w, to + 80);
                r6.reinterpretAsFloats().intoArray(w, to + 96);
                r7.reinterpretAsFloats().intoArray(w, to + 112);
                { IntVector a = r8, b = r12; r8 = i4l.selectFrom(a, b); r12 = i4h.selectFrom(a, b); }
                { IntVector a = r9, b = r13; r9 = i4l.selectFrom(a, b); r13 = i4h.selectFrom(a, b); }
                { IntVector a = r10, b = r14; r10 = i4l.selectFrom(a, b); r14 = i4h.selectFrom(a, b); }
                { IntVector a = r11, b = r15; r11 = i4l.selectFrom(a, b); r15 = i4h.selectFrom(a, b); }
                { IntVector a = r8, b = r10; r8 = i2l.selectFrom(a, b); r10 = i2h.selectFrom(a, b); }
                { IntVector a = r9, b = r11; r9 = i2l.selectFrom(a, b); r11 = i2h.selectFrom(a, b); }
                { IntVector a = r12, b = r14; r12 = i2l.selectFrom(a, b); r14 = i2h.selectFrom(a, b); }
                { IntVector a = r13, b = r15; r13 = i2l.selectFrom(a, b); r15 = i2h.selectFrom(a, b); }
                { IntVector a = r8, b = r9; r8 = i1l.selectFrom(a, b); r9 = i1h.selectFrom(a, b); }
                { IntVector a = r10, b = r11; r10 = i1l.selectFrom(a, b); r11 = i1h.selectFrom(a, b); }
                { IntVector a = r12, b = r13; r12 = i1l.selectFrom(a, b); r13 = i1h.selectFrom(a, b); }
                { IntVector a = r14, b = r15; r14 = i1l.selectFrom(a, b); r15 = i1h.selectFrom(a, b); }
                r8.reinterpretAsFloats().intoArray(w, to + 128);
                r9.reinterpretAsFloats().intoArray(w, to + 144);
                r10.reinterpretAsFloats().intoArray(w, to + 160);
                r11.reinterpretAsFloats().intoArray(w, to + 176);
                r12.reinterpretAsFloats().intoArray(w, to + 192);
                r13.reinterpretAsFloats().intoArray(w, to + 208);
                r14.reinterpretAsFloats().intoArray(w, to + 224);
                r15.reinterpretAsFloats().intoArray(w, to + 240);
            }
        }
        if (t0 < d) {
            transpose(q, qOff + t0, qStride, rows, d - t0, w, wOff + t0 * s.length(), s.length(), 1f);
        }
    }

    /** {@link #softmaxInLanes} through its handle (see {@link #SOFTMAX_IN_LANES}). */
    private static void softmaxThroughHandle(float[] w, int sT, int keys, int sums) {
        try {
            SOFTMAX_IN_LANES[0].invokeExact(w, sT, keys, sums);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);   // the softmax throws nothing checked
        }
    }

    /**
     * {@link #scoresInLanes} for two blocks of L queries at once (Qᵀ at w[0 …] and w[qB …], scores into w[sA …] and
     * w[sB …], each with its maximum after its keys): tiles of 8 keys × 2 vectors, so that each broadcast of a scaled
     * key serves two FMAs — one broadcast per FMA, as a single block takes, ran the scores at ~150 GFLOP/s against
     * ~210 (Zen 5, 1 thread, MiniLM's heads at s128).
     */
    private static void scoresInLanesTwice(float[] w, float[] kS, int keys, int d, float[] bias, int biasOff, int qB,
                                           int sA, int sB) {
        VectorSpecies<Float> s = S;
        int l = s.length(), i = 0;
        FloatVector maxA = FloatVector.broadcast(s, Float.NEGATIVE_INFINITY), maxB = maxA;
        for (; i + 8 <= keys; i += 8) {
            FloatVector a0 = FloatVector.zero(s), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
            for (int t = 0, k = i * d; t < d; t++, k++) {
                FloatVector x = FloatVector.fromArray(s, w, t * l), y = FloatVector.fromArray(s, w, qB + t * l);
                FloatVector z = FloatVector.broadcast(s, kS[k]);
                a0 = x.fma(z, a0); b0 = y.fma(z, b0);
                z = FloatVector.broadcast(s, kS[k + d]);
                a1 = x.fma(z, a1); b1 = y.fma(z, b1);
                z = FloatVector.broadcast(s, kS[k + 2 * d]);
                a2 = x.fma(z, a2); b2 = y.fma(z, b2);
                z = FloatVector.broadcast(s, kS[k + 3 * d]);
                a3 = x.fma(z, a3); b3 = y.fma(z, b3);
                z = FloatVector.broadcast(s, kS[k + 4 * d]);
                a4 = x.fma(z, a4); b4 = y.fma(z, b4);
                z = FloatVector.broadcast(s, kS[k + 5 * d]);
                a5 = x.fma(z, a5); b5 = y.fma(z, b5);
                z = FloatVector.broadcast(s, kS[k + 6 * d]);
                a6 = x.fma(z, a6); b6 = y.fma(z, b6);
                z = FloatVector.broadcast(s, kS[k + 7 * d]);
                a7 = x.fma(z, a7); b7 = y.fma(z, b7);
            }
            if (bias != null) {
                int b = biasOff + i;
                a0 = a0.add(bias[b]); a1 = a1.add(bias[b + 1]); a2 = a2.add(bias[b + 2]); a3 = a3.add(bias[b + 3]);
                a4 = a4.add(bias[b + 4]); a5 = a5.add(bias[b + 5]); a6 = a6.add(bias[b + 6]); a7 = a7.add(bias[b + 7]);
                b0 = b0.add(bias[b]); b1 = b1.add(bias[b + 1]); b2 = b2.add(bias[b + 2]); b3 = b3.add(bias[b + 3]);
                b4 = b4.add(bias[b + 4]); b5 = b5.add(bias[b + 5]); b6 = b6.add(bias[b + 6]); b7 = b7.add(bias[b + 7]);
            }
            int o = sA + i * l, p = sB + i * l;
            a0.intoArray(w, o); a1.intoArray(w, o + l); a2.intoArray(w, o + 2 * l); a3.intoArray(w, o + 3 * l);
            a4.intoArray(w, o + 4 * l); a5.intoArray(w, o + 5 * l); a6.intoArray(w, o + 6 * l); a7.intoArray(w, o + 7 * l);
            b0.intoArray(w, p); b1.intoArray(w, p + l); b2.intoArray(w, p + 2 * l); b3.intoArray(w, p + 3 * l);
            b4.intoArray(w, p + 4 * l); b5.intoArray(w, p + 5 * l); b6.intoArray(w, p + 6 * l); b7.intoArray(w, p + 7 * l);
            maxA = maxA.max(a0.max(a1).max(a2.max(a3)).max(a4.max(a5).max(a6.max(a7))));
            maxB = maxB.max(b0.max(b1).max(b2.max(b3)).max(b4.max(b5).max(b6.max(b7))));
        }
        for (; i < keys; i++) {
            FloatVector a = FloatVector.zero(s), b = a;
            for (int t = 0, k = i * d; t < d; t++, k++) {
                FloatVector z = FloatVector.broadcast(s, kS[k]);
                a = FloatVector.fromArray(s, w, t * l).fma(z, a);
                b = FloatVector.fromArray(s, w, qB + t * l).fma(z, b);
            }
            if (bias != null) {
                a = a.add(bias[biasOff + i]);
                b = b.add(bias[biasOff + i]);
            }
            a.intoArray(w, sA + i * l);
            b.intoArray(w, sB + i * l);
            maxA = maxA.max(a);
            maxB = maxB.max(b);
        }
        maxA.intoArray(w, sA + keys * l);
        maxB.intoArray(w, sB + keys * l);
    }

    /**
     * Sᵀ[i] = Σ_t Qᵀ[t]·kS[i·d + t] (+ bias[biasOff + i]) for each key i, into w[sT + i·L], and their lane-wise
     * maximum into w[sT + keys·L]: tiles of 16 keys (16 accumulators, one load of Qᵀ and 16 broadcasts of scaled keys
     * per step; 8 keys, as many accumulators as the FMAs' latency needs, measured slower), then one key at a time.
     * Each lane is one chain of FMAs over t from 0, the keys' scaled values times the queries' — the bits of
     * {@link #fourRows} over Kᵀ. (Blocks of a single vector of queries: short sequences.)
     */
    private static void scoresInLanes(float[] w, float[] kS, int keys, int d, float[] bias, int biasOff, int sT) {
        VectorSpecies<Float> s = S;
        int l = s.length(), i = 0;
        FloatVector max = FloatVector.broadcast(s, Float.NEGATIVE_INFINITY);
        for (; i + 16 <= keys; i += 16) {
            FloatVector a0 = FloatVector.zero(s), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            FloatVector a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
            for (int t = 0, k = i * d; t < d; t++, k++) {
                FloatVector x = FloatVector.fromArray(s, w, t * l);
                a0 = x.fma(FloatVector.broadcast(s, kS[k]), a0);
                a1 = x.fma(FloatVector.broadcast(s, kS[k + d]), a1);
                a2 = x.fma(FloatVector.broadcast(s, kS[k + 2 * d]), a2);
                a3 = x.fma(FloatVector.broadcast(s, kS[k + 3 * d]), a3);
                a4 = x.fma(FloatVector.broadcast(s, kS[k + 4 * d]), a4);
                a5 = x.fma(FloatVector.broadcast(s, kS[k + 5 * d]), a5);
                a6 = x.fma(FloatVector.broadcast(s, kS[k + 6 * d]), a6);
                a7 = x.fma(FloatVector.broadcast(s, kS[k + 7 * d]), a7);
                a8 = x.fma(FloatVector.broadcast(s, kS[k + 8 * d]), a8);
                a9 = x.fma(FloatVector.broadcast(s, kS[k + 9 * d]), a9);
                a10 = x.fma(FloatVector.broadcast(s, kS[k + 10 * d]), a10);
                a11 = x.fma(FloatVector.broadcast(s, kS[k + 11 * d]), a11);
                a12 = x.fma(FloatVector.broadcast(s, kS[k + 12 * d]), a12);
                a13 = x.fma(FloatVector.broadcast(s, kS[k + 13 * d]), a13);
                a14 = x.fma(FloatVector.broadcast(s, kS[k + 14 * d]), a14);
                a15 = x.fma(FloatVector.broadcast(s, kS[k + 15 * d]), a15);
            }
            if (bias != null) {
                int b = biasOff + i;
                a0 = a0.add(bias[b]); a1 = a1.add(bias[b + 1]); a2 = a2.add(bias[b + 2]); a3 = a3.add(bias[b + 3]);
                a4 = a4.add(bias[b + 4]); a5 = a5.add(bias[b + 5]); a6 = a6.add(bias[b + 6]); a7 = a7.add(bias[b + 7]);
                a8 = a8.add(bias[b + 8]); a9 = a9.add(bias[b + 9]);
                a10 = a10.add(bias[b + 10]); a11 = a11.add(bias[b + 11]);
                a12 = a12.add(bias[b + 12]); a13 = a13.add(bias[b + 13]);
                a14 = a14.add(bias[b + 14]); a15 = a15.add(bias[b + 15]);
            }
            int o = sT + i * l;
            a0.intoArray(w, o); a1.intoArray(w, o + l); a2.intoArray(w, o + 2 * l); a3.intoArray(w, o + 3 * l);
            a4.intoArray(w, o + 4 * l); a5.intoArray(w, o + 5 * l); a6.intoArray(w, o + 6 * l); a7.intoArray(w, o + 7 * l);
            a8.intoArray(w, o + 8 * l); a9.intoArray(w, o + 9 * l);
            a10.intoArray(w, o + 10 * l); a11.intoArray(w, o + 11 * l);
            a12.intoArray(w, o + 12 * l); a13.intoArray(w, o + 13 * l);
            a14.intoArray(w, o + 14 * l); a15.intoArray(w, o + 15 * l);
            FloatVector m0 = a0.max(a1).max(a2.max(a3)).max(a4.max(a5).max(a6.max(a7)));
            FloatVector m1 = a8.max(a9).max(a10.max(a11)).max(a12.max(a13).max(a14.max(a15)));
            max = max.max(m0.max(m1));
        }
        for (; i < keys; i++) {
            FloatVector a = FloatVector.zero(s);
            for (int t = 0, k = i * d; t < d; t++, k++) {
                a = FloatVector.fromArray(s, w, t * l).fma(FloatVector.broadcast(s, kS[k]), a);
            }
            if (bias != null) {
                a = a.add(bias[biasOff + i]);
            }
            a.intoArray(w, sT + i * l);
            max = max.max(a);
        }
        max.intoArray(w, sT + keys * l);
    }

    /** {@link #softmaxInLanes} as a handle that is not a constant, compiled on its own (see {@link #softmax}). */
    private static final MethodHandle[] SOFTMAX_IN_LANES = {staticLoop("softmaxInLanes",
        MethodType.methodType(void.class, float[].class, int.class, int.class, int.class))};

    /**
     * Softmax over the keys of each lane of w[sT + i·L] (i &lt; keys) in place, {@link #softmaxRow}'s operations lane
     * by lane: the maximum ({@link #scoresInLanes}' at w[sT + keys·L]), e^(x − max) summed in its order (partial sums
     * of keys ≡ lane mod L into w[sums …], their tree, then the last keys), times 1 / sum; a lane whose maximum is −∞
     * becomes zeros.
     */
    private static void softmaxInLanes(float[] w, int sT, int keys, int sums) {
        VectorSpecies<Float> s = S;
        int l = s.length(), bound = s.loopBound(keys), i = 0;
        FloatVector max = FloatVector.fromArray(s, w, sT + keys * l);   // scoresInLanes' maximum
        // expOfNonPositive's operations written out (the same bits), its polynomial's coefficients read into registers
        // once: through the helper, C2 broadcast the six EXP_P elements from the array again for every vector and did
        // not unroll the loop (37 instructions and a safepoint poll a vector); so, unrolled four times, ~33 and one poll
        // per four (benchmarks/disassembler.sh; AttentionParts 1 128 12 32: −2 to −9 µs of ~170, docs/benchmarks.md)
        FloatVector p0 = FloatVector.broadcast(s, EXP_P[0]), p1 = FloatVector.broadcast(s, EXP_P[1]),
                p2 = FloatVector.broadcast(s, EXP_P[2]), p3 = FloatVector.broadcast(s, EXP_P[3]),
                p4 = FloatVector.broadcast(s, EXP_P[4]), p5 = FloatVector.broadcast(s, EXP_P[5]);
        // 2^n applied as 2^(n + 64)·2^−64 (one integer add and shift, not expReduced's halves n1, n − n1: seven integer
        // operations in the source): n ≥ −150 here (x ≤ 0, clamped to −104), so 2^(n + 64) is a normal float,
        // ee·2^(n + 64) is exact and the one rounding is the last product's, where expReduced's also is (ee·2^n1 exact,
        // then ·2^(n − n1)): the same bits for every x ≤ 0
        IntVector bias = IntVector.broadcast(INTS, 127 + 64 - ROUNDER_BITS);
        FloatVector twoToMinus64 = FloatVector.broadcast(s, 0x1p-64f);
        for (int lane = 0; bound > 0 && lane < l; lane++) {   // softmaxRow's vector lane `lane`: keys lane, lane + L, …
            FloatVector acc = FloatVector.zero(s);
            for (int k = lane, o = sT + lane * l; k < bound; k += l, o += l * l) {
                FloatVector x = FloatVector.fromArray(s, w, o).sub(max);
                FloatVector xc = x.blend(EXP_MIN, x.compare(VectorOperators.LT, EXP_MIN));
                FloatVector kk = xc.fma(LOG2E, ROUNDER);
                FloatVector n = kk.sub(ROUNDER);
                FloatVector r = n.fma(FloatVector.broadcast(s, -LN2_LO), n.fma(FloatVector.broadcast(s, -LN2_HI), xc));
                FloatVector p = p0.fma(r, p1).fma(r, p2).fma(r, p3).fma(r, p4).fma(r, p5);
                FloatVector ee = p.fma(r.mul(r), r).add(1f);
                FloatVector scale = ((IntVector) kk.reinterpretAsInts()).add(bias).lanewise(VectorOperators.LSHL, 23)
                        .reinterpretAsFloats();
                FloatVector e = ee.mul(scale).mul(twoToMinus64);
                e.intoArray(w, o);
                acc = acc.add(e);
            }
            acc.intoArray(w, sums + lane * l);
        }
        for (int half = l / 2; bound > 0 && half > 0; half /= 2) {   // addLanes' tree: lane i + lane i + half
            for (int j = 0; j < half; j++) {
                FloatVector.fromArray(s, w, sums + j * l).add(FloatVector.fromArray(s, w, sums + (j + half) * l))
                        .intoArray(w, sums + j * l);
            }
        }
        FloatVector sum = bound > 0 ? FloatVector.fromArray(s, w, sums) : FloatVector.zero(s);
        for (i = bound; i < keys; i++) {
            FloatVector e = expOfNonPositive(FloatVector.fromArray(s, w, sT + i * l).sub(max));
            e.intoArray(w, sT + i * l);
            sum = sum.add(e);
        }
        FloatVector inv = FloatVector.broadcast(s, 1f).div(sum);
        for (i = 0; i < keys; i++) {
            FloatVector.fromArray(s, w, sT + i * l).mul(inv).intoArray(w, sT + i * l);
        }
        VectorMask<Float> dead = max.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY);
        if (dead.anyTrue()) {
            for (i = 0; i < keys; i++) {
                FloatVector.fromArray(s, w, sT + i * l).blend(0f, dead).intoArray(w, sT + i * l);
            }
        }
    }

    /**
     * {@link Kernels#chunkAxpys} at 512 bits for heads of 4 vectors (GPT-2's d = 64): six heads at a time, their 24
     * sums in registers over the chunk's positions, then stored — instead of a load and a store of the row per
     * position and head (the plain loop's 4 loads of values and 4 FMAs a head and position came with 4 loads and 4
     * stores of the partial row). Six because 24 accumulators, a broadcast and the values' loads fit the 32 vector
     * registers; twelve heads are two groups. Each lane is the same FMA chain from zero in the same order as
     * {@link #headAxpys} gives: the same bits. The heads left after the groups of six go through the row as before.
     */
    @Override
    void chunkAxpys(float[] p, int pOff, int pStride, int count, float[] v, int vOff, int vStride, float[] y, int yOff,
                    int heads, int d) {
        VectorSpecies<Float> s = S;
        int l = s.length(), h = 0;
        if (WIDE && d == 4 * l) {
            for (; h + 6 <= heads; h += 6) {
                FloatVector a00 = FloatVector.zero(s), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
                FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
                FloatVector a40 = a00, a41 = a00, a42 = a00, a43 = a00, a50 = a00, a51 = a00, a52 = a00, a53 = a00;
                for (int j = 0, pi = pOff + h * pStride, vi = vOff + h * d; j < count; j++, pi++, vi += vStride) {
                    FloatVector x = FloatVector.broadcast(s, p[pi]);
                    a00 = FloatVector.fromArray(s, v, vi).fma(x, a00);
                    a01 = FloatVector.fromArray(s, v, vi + l).fma(x, a01);
                    a02 = FloatVector.fromArray(s, v, vi + 2 * l).fma(x, a02);
                    a03 = FloatVector.fromArray(s, v, vi + 3 * l).fma(x, a03);
                    x = FloatVector.broadcast(s, p[pi + pStride]);
                    a10 = FloatVector.fromArray(s, v, vi + d).fma(x, a10);
                    a11 = FloatVector.fromArray(s, v, vi + d + l).fma(x, a11);
                    a12 = FloatVector.fromArray(s, v, vi + d + 2 * l).fma(x, a12);
                    a13 = FloatVector.fromArray(s, v, vi + d + 3 * l).fma(x, a13);
                    x = FloatVector.broadcast(s, p[pi + 2 * pStride]);
                    a20 = FloatVector.fromArray(s, v, vi + 2 * d).fma(x, a20);
                    a21 = FloatVector.fromArray(s, v, vi + 2 * d + l).fma(x, a21);
                    a22 = FloatVector.fromArray(s, v, vi + 2 * d + 2 * l).fma(x, a22);
                    a23 = FloatVector.fromArray(s, v, vi + 2 * d + 3 * l).fma(x, a23);
                    x = FloatVector.broadcast(s, p[pi + 3 * pStride]);
                    a30 = FloatVector.fromArray(s, v, vi + 3 * d).fma(x, a30);
                    a31 = FloatVector.fromArray(s, v, vi + 3 * d + l).fma(x, a31);
                    a32 = FloatVector.fromArray(s, v, vi + 3 * d + 2 * l).fma(x, a32);
                    a33 = FloatVector.fromArray(s, v, vi + 3 * d + 3 * l).fma(x, a33);
                    x = FloatVector.broadcast(s, p[pi + 4 * pStride]);
                    a40 = FloatVector.fromArray(s, v, vi + 4 * d).fma(x, a40);
                    a41 = FloatVector.fromArray(s, v, vi + 4 * d + l).fma(x, a41);
                    a42 = FloatVector.fromArray(s, v, vi + 4 * d + 2 * l).fma(x, a42);
                    a43 = FloatVector.fromArray(s, v, vi + 4 * d + 3 * l).fma(x, a43);
                    x = FloatVector.broadcast(s, p[pi + 5 * pStride]);
                    a50 = FloatVector.fromArray(s, v, vi + 5 * d).fma(x, a50);
                    a51 = FloatVector.fromArray(s, v, vi + 5 * d + l).fma(x, a51);
                    a52 = FloatVector.fromArray(s, v, vi + 5 * d + 2 * l).fma(x, a52);
                    a53 = FloatVector.fromArray(s, v, vi + 5 * d + 3 * l).fma(x, a53);
                }
                int o = yOff + h * d;
                a00.intoArray(y, o); a01.intoArray(y, o + l); a02.intoArray(y, o + 2 * l); a03.intoArray(y, o + 3 * l);
                a10.intoArray(y, o + d); a11.intoArray(y, o + d + l); a12.intoArray(y, o + d + 2 * l); a13.intoArray(y, o + d + 3 * l);
                o += 2 * d;
                a20.intoArray(y, o); a21.intoArray(y, o + l); a22.intoArray(y, o + 2 * l); a23.intoArray(y, o + 3 * l);
                a30.intoArray(y, o + d); a31.intoArray(y, o + d + l); a32.intoArray(y, o + d + 2 * l); a33.intoArray(y, o + d + 3 * l);
                o += 2 * d;
                a40.intoArray(y, o); a41.intoArray(y, o + l); a42.intoArray(y, o + 2 * l); a43.intoArray(y, o + 3 * l);
                a50.intoArray(y, o + d); a51.intoArray(y, o + d + l); a52.intoArray(y, o + d + 2 * l); a53.intoArray(y, o + d + 3 * l);
            }
        }
        if (h < heads) {   // the heads left, through the row
            super.chunkAxpys(p, pOff + h * pStride, pStride, count, v, vOff + h * d, vStride, y, yOff + h * d, heads - h, d);
        }
    }

    @Override
    void headAxpys(float[] p, int pOff, int pStride, float[] v, int vOff, float[] y, int yOff, int heads, int d) {
        VectorSpecies<Float> s = S;
        int l = s.length(), bound = s.loopBound(d);
        for (int h = 0; h < heads; h++) {
            FloatVector a = FloatVector.broadcast(s, p[pOff + h * pStride]);
            int vo = vOff + h * d, yo = yOff + h * d, i = 0;
            for (; i < bound; i += l) {
                FloatVector.fromArray(s, v, vo + i).fma(a, FloatVector.fromArray(s, y, yo + i)).intoArray(y, yo + i);
            }
            for (; i < d; i++) {
                y[yo + i] = Math.fma(p[pOff + h * pStride], v[vo + i], y[yo + i]);
            }
        }
    }

    @Override
    float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        VectorSpecies<Float> s = S;
        int l = s.length(), i = 0;
        FloatVector acc0 = FloatVector.zero(s), acc1 = acc0;
        for (; i + 2 * l <= n; i += 2 * l) {
            acc0 = FloatVector.fromArray(s, a, aOff + i).fma(FloatVector.fromArray(s, b, bOff + i), acc0);
            acc1 = FloatVector.fromArray(s, a, aOff + i + l).fma(FloatVector.fromArray(s, b, bOff + i + l), acc1);
        }
        for (; i < n; i += l) {
            VectorMask<Float> m = s.indexInRange(i, n);
            acc0 = FloatVector.fromArray(s, a, aOff + i, m).fma(FloatVector.fromArray(s, b, bOff + i, m), acc0);
        }
        return addLanes(acc0.add(acc1));
    }

    /**
     * The sum of v's lanes in one fixed order: lane i and lane i + half added, halving until one is left.
     * Not {@code reduceLanes(ADD)}: its float order is unspecified, and the JIT's intrinsic adds in another
     * order than the Java code that runs before the method is compiled — the same call gave a different last
     * bit cold and warm, and training runs of the same seed drifted apart. Lane-wise adds are exact IEEE
     * operations however they run, so this is the same in the interpreter, C1 and C2, and as fast.
     *
     * <p>Each step adds v to itself with lanes i and i ^ half swapped ({@link #SWAP_8} …: one constant permute):
     * lane i &lt; half gets v[i] + v[i + half], as {@code v.add(v.slice(half))} gave, so the bits are the same.
     * The slice (a permute and a blend with zeros) made the scores of a decoding step's attention (12 heads × the
     * cached positions, one lane sum each) 1.5× slower: 14 against 9.5 µs per layer at 96 positions (Zen 4,
     * 512 bits, CPU time), and a GPT-2 layer's attention 29–32 against 28 µs.
     */
    static float addLanes(FloatVector v) {
        int n = v.length();
        if (n > 8) {
            v = v.add(v.rearrange(SWAP_8));
        }
        if (n > 4) {
            v = v.add(v.rearrange(SWAP_4));
        }
        if (n > 2) {
            v = v.add(v.rearrange(SWAP_2));
        }
        return v.add(v.rearrange(SWAP_1)).lane(0);
    }

    // ---------------------------------------------------------------- element-wise

    @Override
    void scale(float[] x, int off, int n, float factor) {
        scaleInPlace(x, off, n, factor);
    }

    private static void scaleInPlace(float[] x, int off, int n, float factor) {
        VectorSpecies<Float> s = S;
        int i = 0;
        for (int bound = s.loopBound(n); i < bound; i += s.length()) {
            FloatVector.fromArray(s, x, off + i).mul(factor).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] *= factor;
        }
    }

    @Override
    void add(float[] x, int xOff, float[] y, int yOff, float[] out, int outOff, int n) {
        VectorSpecies<Float> s = S;
        int i = 0;
        for (int bound = s.loopBound(n); i < bound; i += s.length()) {
            FloatVector.fromArray(s, x, xOff + i).add(FloatVector.fromArray(s, y, yOff + i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[xOff + i] + y[yOff + i];
        }
    }

    /** Mean of x[off, off + n): lanes summed in addLanes' fixed order, then the tail. */
    private float rowMean(float[] x, int off, int n) {
        VectorSpecies<Float> s = S;
        int l = s.length(), bound = s.loopBound(n), i;
        FloatVector acc = FloatVector.zero(s);
        for (i = 0; i < bound; i += l) {
            acc = acc.add(FloatVector.fromArray(s, x, off + i));
        }
        float sum = addLanes(acc);
        for (; i < n; i++) {
            sum += x[off + i];
        }
        return sum / n;
    }

    /** 1 / sqrt(var + eps) of x[off, off + n) around {@code mean}, the biased variance as LayerNorm takes it. */
    private float inverseStd(float[] x, int off, int n, float mean, float eps) {
        VectorSpecies<Float> s = S;
        int l = s.length(), bound = s.loopBound(n), i;
        // A second pass over the deviations: no cancellation, unlike E[x²] − E[x]².
        FloatVector acc = FloatVector.zero(s);
        for (i = 0; i < bound; i += l) {
            FloatVector dev = FloatVector.fromArray(s, x, off + i).sub(mean);
            acc = dev.fma(dev, acc);
        }
        float sq = addLanes(acc);
        for (; i < n; i++) {
            float dev = x[off + i] - mean;
            sq += dev * dev;
        }
        return (float) (1.0 / Math.sqrt((double) (sq / n) + eps));
    }

    @Override
    void layerNorm(float[] x, int off, int n, float[] gamma, float[] beta, float eps) {
        VectorSpecies<Float> s = S;
        int l = s.length(), bound = s.loopBound(n), i;
        float mean = rowMean(x, off, n);
        float inv = inverseStd(x, off, n, mean, eps);
        for (i = 0; i < bound; i += l) {
            FloatVector norm = FloatVector.fromArray(s, x, off + i).sub(mean).mul(inv);
            norm.fma(FloatVector.fromArray(s, gamma, i), FloatVector.fromArray(s, beta, i)).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] = (x[off + i] - mean) * inv * gamma[i] + beta[i];
        }
    }

    /**
     * Four rows at a time, each row getting {@link #add}'s and {@link #layerNorm}'s operations in their order (the same
     * bits): the residual added and the row summed in one pass (the add pass sums the values it stores, in
     * rowMean's order), then the four rows' deviations, then their normalization, gamma and beta read once for the four.
     * A row alone is two chains of dependent vector adds or FMAs (its sum, its squared deviations: one accumulator
     * each, then addLanes' tree); four rows side by side keep the adders busy while each chain waits on its latency.
     * The rows left (fewer than four) go through add and layerNorm.
     */
    @Override
    void addLayerNormRows(float[] y, int yOff, float[] residual, int resOff, int n, int rows, float[] gamma, float[] beta,
                          float eps) {
        int r = 0;
        if (rows >= 4) {
            float[] stats = new float[8];   // four rows' sums, then their squared deviations' (48 bytes a call)
            for (; r + 4 <= rows; r += 4) {
                int o = yOff + r * n;
                addAndSum4(y, o, residual, resOff + r * n, n, stats);
                float m0 = stats[0] / n, m1 = stats[1] / n, m2 = stats[2] / n, m3 = stats[3] / n;
                squares4(y, o, n, m0, m1, m2, m3, stats);
                normalize4(y, o, n, gamma, beta, m0, m1, m2, m3, inverseStdOf(stats[4], n, eps), inverseStdOf(stats[5], n, eps),
                        inverseStdOf(stats[6], n, eps), inverseStdOf(stats[7], n, eps));
            }
        }
        super.addLayerNormRows(y, yOff + r * n, residual, resOff + r * n, n, rows - r, gamma, beta, eps);
    }

    /** inverseStd's last step: 1 / sqrt(sq / n + eps), sq the squared deviations' sum. */
    private static float inverseStdOf(float sq, int n, float eps) {
        return (float) (1.0 / Math.sqrt((double) (sq / n) + eps));
    }

    /*
     * The three passes of addLayerNormRows are three methods, each compiled on its own, with nothing but arrays and
     * floats crossing their calls: written as one, C2 stopped inlining (NodeCountInliningCutoff) at the second group
     * of addLanes calls, whose vectors were then boxed (12 KB a call of 128 rows, PrintInlining).
     */

    /** Rows y[o …], y[o + n …], y[o + 2n …], y[o + 3n …] += the residual's rows from ro; their sums into stats[0..3] (rowMean's order). */
    private static void addAndSum4(float[] y, int o, float[] res, int ro, int n, float[] stats) {
        VectorSpecies<Float> s = S;
        int l = s.length(), bound = s.loopBound(n);
        int o1 = o + n, o2 = o1 + n, o3 = o2 + n, r1 = ro + n, r2 = r1 + n, r3 = r2 + n;
        FloatVector a0 = FloatVector.zero(s), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < bound; i += l) {
            FloatVector v0 = FloatVector.fromArray(s, y, o + i).add(FloatVector.fromArray(s, res, ro + i));
            FloatVector v1 = FloatVector.fromArray(s, y, o1 + i).add(FloatVector.fromArray(s, res, r1 + i));
            FloatVector v2 = FloatVector.fromArray(s, y, o2 + i).add(FloatVector.fromArray(s, res, r2 + i));
            FloatVector v3 = FloatVector.fromArray(s, y, o3 + i).add(FloatVector.fromArray(s, res, r3 + i));
            v0.intoArray(y, o + i);
            v1.intoArray(y, o1 + i);
            v2.intoArray(y, o2 + i);
            v3.intoArray(y, o3 + i);
            a0 = a0.add(v0);
            a1 = a1.add(v1);
            a2 = a2.add(v2);
            a3 = a3.add(v3);
        }
        float s0 = addLanes(a0), s1 = addLanes(a1), s2 = addLanes(a2), s3 = addLanes(a3);
        for (int j = bound; j < n; j++) {
            float v0 = y[o + j] + res[ro + j], v1 = y[o1 + j] + res[r1 + j];
            float v2 = y[o2 + j] + res[r2 + j], v3 = y[o3 + j] + res[r3 + j];
            y[o + j] = v0;
            y[o1 + j] = v1;
            y[o2 + j] = v2;
            y[o3 + j] = v3;
            s0 += v0;
            s1 += v1;
            s2 += v2;
            s3 += v3;
        }
        stats[0] = s0;
        stats[1] = s1;
        stats[2] = s2;
        stats[3] = s3;
    }

    /** The four rows' sums of squared deviations from m0 … m3 into stats[4..7] (inverseStd's order). */
    private static void squares4(float[] y, int o, int n, float m0, float m1, float m2, float m3, float[] stats) {
        VectorSpecies<Float> s = S;
        int l = s.length(), bound = s.loopBound(n);
        int o1 = o + n, o2 = o1 + n, o3 = o2 + n;
        FloatVector q0 = FloatVector.zero(s), q1 = q0, q2 = q0, q3 = q0;
        for (int i = 0; i < bound; i += l) {
            FloatVector d0 = FloatVector.fromArray(s, y, o + i).sub(m0);
            FloatVector d1 = FloatVector.fromArray(s, y, o1 + i).sub(m1);
            FloatVector d2 = FloatVector.fromArray(s, y, o2 + i).sub(m2);
            FloatVector d3 = FloatVector.fromArray(s, y, o3 + i).sub(m3);
            q0 = d0.fma(d0, q0);
            q1 = d1.fma(d1, q1);
            q2 = d2.fma(d2, q2);
            q3 = d3.fma(d3, q3);
        }
        float sq0 = addLanes(q0), sq1 = addLanes(q1), sq2 = addLanes(q2), sq3 = addLanes(q3);
        for (int j = bound; j < n; j++) {
            float d0 = y[o + j] - m0, d1 = y[o1 + j] - m1, d2 = y[o2 + j] - m2, d3 = y[o3 + j] - m3;
            sq0 += d0 * d0;
            sq1 += d1 * d1;
            sq2 += d2 * d2;
            sq3 += d3 * d3;
        }
        stats[4] = sq0;
        stats[5] = sq1;
        stats[6] = sq2;
        stats[7] = sq3;
    }

    /** (x − mean)·inv, then ·gamma + beta as one FMA, over the four rows (layerNorm's order); gamma and beta read once. */
    private static void normalize4(float[] y, int o, int n, float[] gamma, float[] beta, float m0, float m1, float m2, float m3,
                                   float i0, float i1, float i2, float i3) {
        VectorSpecies<Float> s = S;
        int l = s.length(), bound = s.loopBound(n);
        int o1 = o + n, o2 = o1 + n, o3 = o2 + n;
        for (int i = 0; i < bound; i += l) {
            FloatVector g = FloatVector.fromArray(s, gamma, i), b = FloatVector.fromArray(s, beta, i);
            FloatVector.fromArray(s, y, o + i).sub(m0).mul(i0).fma(g, b).intoArray(y, o + i);
            FloatVector.fromArray(s, y, o1 + i).sub(m1).mul(i1).fma(g, b).intoArray(y, o1 + i);
            FloatVector.fromArray(s, y, o2 + i).sub(m2).mul(i2).fma(g, b).intoArray(y, o2 + i);
            FloatVector.fromArray(s, y, o3 + i).sub(m3).mul(i3).fma(g, b).intoArray(y, o3 + i);
        }
        for (int j = bound; j < n; j++) {
            y[o + j] = (y[o + j] - m0) * i0 * gamma[j] + beta[j];
            y[o1 + j] = (y[o1 + j] - m1) * i1 * gamma[j] + beta[j];
            y[o2 + j] = (y[o2 + j] - m2) * i2 * gamma[j] + beta[j];
            y[o3 + j] = (y[o3 + j] - m3) * i3 * gamma[j] + beta[j];
        }
    }

    /**
     * Through a handle that is not a constant ({@link #SOFTMAX_ROW}), so that C2 compiles the row on its own and never
     * inlines it into a caller. Attention's per-head loop (two products, the mask, the copy into the probabilities)
     * inlined it wherever the loop was compiled before softmax was (PrintInlining shows softmax "already compiled
     * into a big method" where it was not), and there C2's node budget could run out before softmax's exp: every
     * vector crossing that call is then boxed — attention's forward took 416–476 ms and 481–948 MB a MiniLM step in
     * 2 of 14 processes. The same trap as GELU's ({@link #geluLoop}); one call per row of keys costs nanoseconds.
     */
    @Override
    void softmax(float[] x, int off, int n) {
        try {
            SOFTMAX_ROW[0].invokeExact(x, off, n);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);   // the row throws nothing checked
        }
    }

    /** {@link #softmaxRow} as a handle that is not a constant (see {@link #softmax}). */
    private static final MethodHandle[] SOFTMAX_ROW = {
        staticLoop("softmaxRow", MethodType.methodType(void.class, float[].class, int.class, int.class))};

    /** Softmax of x[off, off + n) in place: the maximum, e^(x − max) and their sum (addLanes' order), then 1 / sum. */
    private static void softmaxRow(float[] x, int off, int n) {
        VectorSpecies<Float> s = S;
        int l = s.length(), bound = s.loopBound(n);
        FloatVector vmax = FloatVector.broadcast(s, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i < bound; i += l) {
            vmax = vmax.max(FloatVector.fromArray(s, x, off + i));
        }
        float max = vmax.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        if (max == Float.NEGATIVE_INFINITY) {
            java.util.Arrays.fill(x, off, off + n, 0f);
            return;
        }
        FloatVector vsum = FloatVector.zero(s);
        for (i = 0; i < bound; i += l) {
            FloatVector e = exp(FloatVector.fromArray(s, x, off + i).sub(max));
            e.intoArray(x, off + i);
            vsum = vsum.add(e);
        }
        float sum = addLanes(vsum);
        for (; i < n; i++) {
            float e = exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        scaleInPlace(x, off, n, 1f / sum);
    }

    @Override
    void activation(float[] x, int off, int n, Activation activation) {
        int done;
        try {
            done = (int) ACTIVATION_LOOPS[activation.ordinal()].invokeExact(x, off, n);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);   // the loops throw nothing checked
        }
        for (int i = done; i < n; i++) {
            x[off + i] = apply(x[off + i], activation);
        }
    }

    /*
     * One loop per activation, called through a method handle taken from a table, so that the JIT never
     * inlines two of them into one compiled method. With the exp written out (~30 vector operations), GELU's
     * loop next to GELU_TANH's or TANH's (BERT runs GELU and its pooler's TANH through the same call site)
     * ran past C2's node budget for inlining: it stopped half-way inside GELU's exp, every vector crossing
     * that call was boxed (5.5 MB per 128 × 3072 call) and GELU ran 2.4× slower. A method handle that
     * is not a constant is never inlined: each loop is compiled on its own, and the call costs nothing
     * next to a chunk of 4096 elements. (Before, with the switch inside the loop, the same budget made
     * every case box: 56 MB per BERT-base forward.)
     */
    private static final MethodHandle[] ACTIVATION_LOOPS = loops("Loop", MethodType.methodType(int.class, float[].class, int.class, int.class));
    private static final MethodHandle[] BACKWARD_LOOPS = loops("BackwardLoop", MethodType.methodType(int.class,
            float[].class, int.class, float[].class, int.class, float[].class, int.class, int.class));

    /** The static methods gelu{suffix}, geluTanh{suffix}, … of this class, in Activation's order. */
    private static MethodHandle[] loops(String suffix, MethodType type) {
        MethodHandles.Lookup lookup = MethodHandles.lookup();
        MethodHandle[] loops = new MethodHandle[Activation.values().length];
        for (Activation a : Activation.values()) {
            String name = switch (a) {
                case GELU -> "gelu";
                case GELU_TANH -> "geluTanh";
                case RELU -> "relu";
                case TANH -> "tanh";
                case SILU -> "silu";
            };
            try {
                loops[a.ordinal()] = lookup.findStatic(lookup.lookupClass(), name + suffix, type);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("no " + name + suffix + " in " + lookup.lookupClass(), e);
            }
        }
        return loops;
    }

    /** A static method of this (hidden) class as a method handle. */
    private static MethodHandle staticLoop(String name, MethodType type) {
        MethodHandles.Lookup lookup = MethodHandles.lookup();   // this hidden class's, as in loops()
        try {
            return lookup.findStatic(lookup.lookupClass(), name, type);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("no " + name + " in " + lookup.lookupClass(), e);
        }
    }

    // Each loop does the whole vectors of x[off..off+n) in place and returns how many elements it did.

    /**
     * Exact GELU, {@link Kernels#gelu}: {@link Kernels#geluOfMinusAbs}'s operations lane by lane (see there for the
     * error budget), the same bits, in one pass. Three things make it cheap (0.61–0.66 → 0.32–0.34 ns an element
     * on Zen 5, one thread, CPU time on a loaded machine; docs/benchmarks.md, "Eleventh session"):
     * <ul>
     * <li>the table's 11 rows are read into registers once, before the loop ({@link #TAIL_ROWS} is a static final
     * array, not a constant to C2, and read inside the loop each row cost a load of the array, the vector and its
     * payload per lane permutation: 0.09 ns an element);</li>
     * <li>the lanes' interval is the row's slot itself: max(exponent bits, 124), taken modulo the table's length by
     * the lane permutation (the rows are laid out so; no subtraction), and a is not clamped to 13.25 first: past
     * {@link Kernels#GELU_FLUSH} GELU(−a) is −0 whatever the polynomial gave (NaN stays NaN, ±∞ gives −0 and ∞);</li>
     * <li>one pass, not two: H and Hl stay in registers, x is read once; −2^n is built with its sign bit, and
     * x + GELU(−a) for x ≥ 0 is one masked addition.</li>
     * </ul>
     * Every Vector API call is written out here, no helper of ours (a helper past C2's node budget stays a call and
     * boxes its vectors; how-it-works §9): the loop is one compilation of ~60 vector operations, and allocated nothing
     * where measured (0 bytes a call, OSR compilation included).
     */
    private static int geluLoop(float[] x, int off, int n) {
        VectorSpecies<Float> s = S;
        IntVector[] t = TAIL_ROWS, u = TAIL_ROWS_HIGH;   // u: the second vector of each row, at 128 bits only
        IntVector q0 = t[0], q1 = t[1], q2 = t[2], q3 = t[3], q4 = t[4], q5 = t[5], q6 = t[6], q7 = t[7], c0 = t[TAIL_C0],
                c0Lo = t[TAIL_C0_LO], centre = t[TAIL_CENTRE];
        IntVector q0h = u[0], q1h = u[1], q2h = u[2], q3h = u[3], q4h = u[4], q5h = u[5], q6h = u[6], q7h = u[7],
                c0h = u[TAIL_C0], c0Loh = u[TAIL_C0_LO], centreh = u[TAIL_CENTRE];
        FloatVector p0 = FloatVector.broadcast(s, EXP_P[0]), p1 = FloatVector.broadcast(s, EXP_P[1]),
                p2 = FloatVector.broadcast(s, EXP_P[2]), p3 = FloatVector.broadcast(s, EXP_P[3]),
                p4 = FloatVector.broadcast(s, EXP_P[4]), p5 = FloatVector.broadcast(s, EXP_P[5]);
        FloatVector minusLn2Hi = FloatVector.broadcast(s, -LN2_HI), minusLn2Lo = FloatVector.broadcast(s, -LN2_LO);
        boolean w = WIDE_TABLE;
        int i = 0;
        for (int bound = s.loopBound(n); i < bound; i += s.length()) {
            FloatVector v = FloatVector.fromArray(s, x, off + i);
            FloatVector a = v.abs();
            IntVector slot = ((IntVector) a.reinterpretAsInts()).lanewise(VectorOperators.LSHR, 23).max(FIRST_SLOT);
            // H(a) = c0 + d·q(d), d = a − centre; H + Hl: c0's low part and d·q's rounding error (Kernels.geluOfMinusAbs)
            FloatVector d = a.sub((w ? slot.selectFrom(centre) : slot.selectFrom(centre, centreh)).reinterpretAsFloats());
            FloatVector q = (w ? slot.selectFrom(q0) : slot.selectFrom(q0, q0h)).reinterpretAsFloats()
                    .fma(d, (w ? slot.selectFrom(q1) : slot.selectFrom(q1, q1h)).reinterpretAsFloats())
                    .fma(d, (w ? slot.selectFrom(q2) : slot.selectFrom(q2, q2h)).reinterpretAsFloats())
                    .fma(d, (w ? slot.selectFrom(q3) : slot.selectFrom(q3, q3h)).reinterpretAsFloats())
                    .fma(d, (w ? slot.selectFrom(q4) : slot.selectFrom(q4, q4h)).reinterpretAsFloats())
                    .fma(d, (w ? slot.selectFrom(q5) : slot.selectFrom(q5, q5h)).reinterpretAsFloats())
                    .fma(d, (w ? slot.selectFrom(q6) : slot.selectFrom(q6, q6h)).reinterpretAsFloats())
                    .fma(d, (w ? slot.selectFrom(q7) : slot.selectFrom(q7, q7h)).reinterpretAsFloats());
            FloatVector c = (w ? slot.selectFrom(c0) : slot.selectFrom(c0, c0h)).reinterpretAsFloats();
            FloatVector h = d.fma(q, c);
            FloatVector hl = d.fma(q, c.sub(h)).add((w ? slot.selectFrom(c0Lo) : slot.selectFrom(c0Lo, c0Loh)).reinterpretAsFloats());
            // −a²/2 = hi + lo: t = −a/2 (exact but for a subnormal a), hi = t·a rounded, lo its error (as Kernels)
            FloatVector ta = a.mul(-0.5f);
            FloatVector hi = ta.mul(a), lo = ta.fma(a, hi.neg());
            FloatVector k = hi.fma(LOG2E, ROUNDER);
            FloatVector nn = k.sub(ROUNDER);
            FloatVector rh = nn.fma(minusLn2Hi, hi), rl = nn.fma(minusLn2Lo, lo);
            FloatVector r = rh.add(rl);
            FloatVector p = p0.fma(r, p1).fma(r, p2).fma(r, p3).fma(r, p4).fma(r, p5);
            // H + (H·rh + (H·(rl + r²·p(r)) + Hl)), times −2^n: the biased exponent + 256 sets the sign bit
            FloatVector sum = h.add(h.fma(rh, h.fma(p.fma(r.mul(r), rl), hl)));
            FloatVector minusTwoToN = ((IntVector) k.reinterpretAsInts()).add(127 + 256 - ROUNDER_BITS)
                    .lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector m = sum.mul(minusTwoToN).blend(-0f, a.compare(VectorOperators.GT, GELU_FLUSH));   // GELU(−|x|)
            m.lanewise(VectorOperators.ADD, v, v.compare(VectorOperators.GE, 0f)).intoArray(x, off + i);
        }
        return i;
    }

    /** {@link Kernels#geluTanh}'s operations lane by lane, −2u as a float pair; written out as {@link #geluLoop}. */
    private static int geluTanhLoop(float[] x, int off, int n) {
        VectorSpecies<Float> s = S;
        FloatVector c1 = FloatVector.broadcast(s, TANH_C1), c3 = FloatVector.broadcast(s, TANH_C3);
        int i = 0;
        for (int bound = s.loopBound(n); i < bound; i += s.length()) {
            FloatVector v = FloatVector.fromArray(s, x, off + i);
            FloatVector c = v.blend(GELU_TANH_CLAMP, v.compare(VectorOperators.GT, GELU_TANH_CLAMP))
                    .blend(-GELU_TANH_CLAMP, v.compare(VectorOperators.LT, -GELU_TANH_CLAMP));
            FloatVector xx = c.mul(c), xxl = c.fma(c, xx.neg()), m = xx.fma(c3, c1);
            FloatVector ml = xxl.fma(c3, xx.fma(c3, c1.sub(m))).add(xx.fma(FloatVector.broadcast(s, TANH_C3_LO), FloatVector.broadcast(s, TANH_C1_LO)));
            FloatVector hi = m.mul(c), lo = ml.fma(c, m.fma(c, hi.neg()));
            // e^(hi + lo): Kernels.expOfSum and expReduced, without expOfSum's clamp to [EXP_MIN, EXP_MAX]: x clamped
            // to ±12 keeps |hi| ≤ 142.3, so n ≤ 206 in magnitude and both halves of 2^n are normal floats; where the
            // clamp would act e^(hi + lo) is ∞ (hi > 89) or 0 (hi < −104) either way, and so is the result here
            FloatVector hc = hi;
            FloatVector k = hc.add(lo).fma(LOG2E, ROUNDER);
            FloatVector nn = k.sub(ROUNDER);
            FloatVector r = nn.fma(FloatVector.broadcast(s, -LN2_LO), nn.fma(FloatVector.broadcast(s, -LN2_HI), hc).add(lo));
            FloatVector p = FloatVector.broadcast(s, EXP_P[0]);
            for (int j = 1; j < EXP_P.length; j++) {
                p = p.fma(r, FloatVector.broadcast(s, EXP_P[j]));
            }
            IntVector ni = ((IntVector) k.reinterpretAsInts()).sub(ROUNDER_BITS), n1 = ni.lanewise(VectorOperators.ASHR, 1);
            FloatVector scale1 = n1.add(ONE_TWENTY_SEVEN).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector scale2 = ni.sub(n1).add(ONE_TWENTY_SEVEN).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector e = p.fma(r.mul(r), r).add(1f).mul(scale1).mul(scale2);
            v.div(e.add(1f)).intoArray(x, off + i);
        }
        return i;
    }

    private static int reluLoop(float[] x, int off, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, off + i).max(0f).intoArray(x, off + i);
        }
        return i;
    }

    private static int tanhLoop(float[] x, int off, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            tanh(FloatVector.fromArray(S, x, off + i)).intoArray(x, off + i);
        }
        return i;
    }

    private static int siluLoop(float[] x, int off, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector v = FloatVector.fromArray(S, x, off + i);
            v.div(exp(v.neg()).add(1f)).intoArray(x, off + i);
        }
        return i;
    }

    // ---------------------------------------------------------------- backward

    @Override
    void multiply(float[] x, int xOff, float[] y, int yOff, float[] out, int outOff, int n) {
        VectorSpecies<Float> s = S;
        int i = 0;
        for (int bound = s.loopBound(n); i < bound; i += s.length()) {
            FloatVector.fromArray(s, x, xOff + i).mul(FloatVector.fromArray(s, y, yOff + i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[xOff + i] * y[yOff + i];
        }
    }

    /** The same float operations as {@link AdamWStep#apply}, in the same order (no fused multiply-adds): the same bits. */
    @Override
    void adamW(AdamWStep step, float[] w, float[] g, int off, float[] m, float[] v, int from, int to) {
        VectorSpecies<Float> s = S;
        float decay = step.decay(), b1 = step.beta1(), oneMinusB1 = step.oneMinusBeta1(), b2 = step.beta2(),
                oneMinusB2 = step.oneMinusBeta2(), stepSize = step.stepSize(), bc2 = step.biasCorrection2Sqrt(),
                eps = step.eps();
        int i = from;
        for (int bound = from + s.loopBound(to - from); i < bound; i += s.length()) {
            FloatVector gi = FloatVector.fromArray(s, g, off + i);
            FloatVector wi = FloatVector.fromArray(s, w, off + i).mul(decay);
            FloatVector mi = FloatVector.fromArray(s, m, i).mul(b1).add(gi.mul(oneMinusB1));
            FloatVector vi = FloatVector.fromArray(s, v, i).mul(b2).add(gi.mul(oneMinusB2).mul(gi));
            mi.intoArray(m, i);
            vi.intoArray(v, i);
            FloatVector denom = vi.lanewise(VectorOperators.SQRT).div(bc2).add(eps);
            wi.sub(mi.div(denom).mul(stepSize)).intoArray(w, off + i);
        }
        step.apply(w, g, off, m, v, i, to);
    }

    @Override
    void activationBackward(float[] dy, int dyOff, float[] x, int xOff, float[] dx, int dxOff, int n,
                            Activation activation) {
        int done;
        try {   // one loop per activation through a table, as in activation()
            done = (int) BACKWARD_LOOPS[activation.ordinal()].invokeExact(dy, dyOff, x, xOff, dx, dxOff, n);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
        for (int i = done; i < n; i++) {
            dx[dxOff + i] = dy[dyOff + i] * derivative(x[xOff + i], activation);
        }
    }

    /**
     * dx = dy·(Φ(x) + x·g), g = e^(−x²/2): {@link Kernels#derivative}'s operations ({@link Kernels#gaussian}, then
     * {@link Kernels#normalCdf} from the forward's table, Φ(−a) = (H(a)/a)·g) lane by lane, the same bits, in one pass
     * with the table's rows in registers as in {@link #geluLoop}. Unlike there, a is clamped to 13.25 first: at a = ∞
     * the polynomial over a is ∞/∞ = NaN, which g = 0 does not cancel (the forward's flush replaces the whole result
     * instead). Written out with no helper of ours, as the forward.
     */
    private static int geluBackwardLoop(float[] dy, int dyOff, float[] x, int xOff, float[] dx, int dxOff, int n) {
        VectorSpecies<Float> s = S;
        IntVector[] t = TAIL_ROWS, u = TAIL_ROWS_HIGH;   // u: the second vector of each row, at 128 bits only
        IntVector q0 = t[0], q1 = t[1], q2 = t[2], q3 = t[3], q4 = t[4], q5 = t[5], q6 = t[6], q7 = t[7], c0 = t[TAIL_C0],
                centre = t[TAIL_CENTRE];
        IntVector q0h = u[0], q1h = u[1], q2h = u[2], q3h = u[3], q4h = u[4], q5h = u[5], q6h = u[6], q7h = u[7],
                c0h = u[TAIL_C0], centreh = u[TAIL_CENTRE];
        FloatVector p0 = FloatVector.broadcast(s, EXP_P[0]), p1 = FloatVector.broadcast(s, EXP_P[1]),
                p2 = FloatVector.broadcast(s, EXP_P[2]), p3 = FloatVector.broadcast(s, EXP_P[3]),
                p4 = FloatVector.broadcast(s, EXP_P[4]), p5 = FloatVector.broadcast(s, EXP_P[5]);
        FloatVector minusLn2Hi = FloatVector.broadcast(s, -LN2_HI), minusLn2Lo = FloatVector.broadcast(s, -LN2_LO);
        FloatVector one = FloatVector.broadcast(s, 1f);
        boolean w = WIDE_TABLE;
        int i = 0;
        for (int bound = s.loopBound(n); i < bound; i += s.length()) {
            FloatVector v = FloatVector.fromArray(s, x, xOff + i);
            FloatVector a = v.abs();
            a = a.blend(GELU_TAIL_MAX, a.compare(VectorOperators.GT, GELU_TAIL_MAX));
            // g = e^(−a²/2), 0 past GELU_FLUSH (Kernels.gaussian)
            FloatVector ta = a.mul(-0.5f);
            FloatVector hi = ta.mul(a), lo = ta.fma(a, hi.neg());
            FloatVector k = hi.fma(LOG2E, ROUNDER);
            FloatVector nn = k.sub(ROUNDER);
            FloatVector r = nn.fma(minusLn2Lo, nn.fma(minusLn2Hi, hi).add(lo));
            FloatVector p = p0.fma(r, p1).fma(r, p2).fma(r, p3).fma(r, p4).fma(r, p5);
            FloatVector twoToN = ((IntVector) k.reinterpretAsInts()).add(127 - ROUNDER_BITS).lanewise(VectorOperators.LSHL, 23)
                    .reinterpretAsFloats();
            FloatVector g = p.fma(r.mul(r), r).add(one).mul(twoToN).blend(0f, a.compare(VectorOperators.GT, GELU_FLUSH));
            // Φ(−a) = (H(a)/a)·g, H/a = q itself below 0.25 (Kernels.normalCdf)
            IntVector slot = ((IntVector) a.reinterpretAsInts()).lanewise(VectorOperators.LSHR, 23).max(FIRST_SLOT);
            FloatVector d = a.sub((w ? slot.selectFrom(centre) : slot.selectFrom(centre, centreh)).reinterpretAsFloats());
            FloatVector q = (w ? slot.selectFrom(q0) : slot.selectFrom(q0, q0h)).reinterpretAsFloats()
                    .fma(d, (w ? slot.selectFrom(q1) : slot.selectFrom(q1, q1h)).reinterpretAsFloats())
                    .fma(d, (w ? slot.selectFrom(q2) : slot.selectFrom(q2, q2h)).reinterpretAsFloats())
                    .fma(d, (w ? slot.selectFrom(q3) : slot.selectFrom(q3, q3h)).reinterpretAsFloats())
                    .fma(d, (w ? slot.selectFrom(q4) : slot.selectFrom(q4, q4h)).reinterpretAsFloats())
                    .fma(d, (w ? slot.selectFrom(q5) : slot.selectFrom(q5, q5h)).reinterpretAsFloats())
                    .fma(d, (w ? slot.selectFrom(q6) : slot.selectFrom(q6, q6h)).reinterpretAsFloats())
                    .fma(d, (w ? slot.selectFrom(q7) : slot.selectFrom(q7, q7h)).reinterpretAsFloats());
            FloatVector ratio = d.fma(q, (w ? slot.selectFrom(c0) : slot.selectFrom(c0, c0h)).reinterpretAsFloats()).div(a)
                    .blend(q, a.compare(VectorOperators.LT, 0.25f));
            FloatVector below = ratio.mul(g);
            FloatVector cdf = below.blend(one.sub(below), v.compare(VectorOperators.GE, 0f));
            FloatVector deriv = v.mul(INV_SQRT_2PI).fma(g, cdf);
            deriv.mul(FloatVector.fromArray(s, dy, dyOff + i)).intoArray(dx, dxOff + i);
        }
        return i;
    }

    /** sg + 2x·sg·(1 − sg)·√(2/π)(1 + 3·0.044715x²) with sg = sigmoid(2u): one exp. */
    private static int geluTanhBackwardLoop(float[] dy, int dyOff, float[] x, int xOff, float[] dx, int dxOff, int n) {
        VectorSpecies<Float> s = S;
        int i = 0;
        for (int bound = s.loopBound(n); i < bound; i += s.length()) {
            FloatVector v = FloatVector.fromArray(s, x, xOff + i);
            FloatVector v2 = v.mul(v);
            FloatVector u = v2.mul(0.044715f).fma(v, v).mul(SQRT_2_OVER_PI);
            FloatVector sg = FloatVector.broadcast(s, 1f).div(exp(u.mul(-2f)).add(1f));
            FloatVector du = v2.mul(3 * 0.044715f).add(1f).mul(SQRT_2_OVER_PI);
            FloatVector d = v.mul(2f).mul(sg).mul(sg.neg().add(1f)).fma(du, sg);
            d.mul(FloatVector.fromArray(s, dy, dyOff + i)).intoArray(dx, dxOff + i);
        }
        return i;
    }

    private static int reluBackwardLoop(float[] dy, int dyOff, float[] x, int xOff, float[] dx, int dxOff, int n) {
        VectorSpecies<Float> s = S;
        int i = 0;
        for (int bound = s.loopBound(n); i < bound; i += s.length()) {
            VectorMask<Float> positive = FloatVector.fromArray(s, x, xOff + i).compare(VectorOperators.GT, 0f);
            FloatVector.zero(s).blend(FloatVector.fromArray(s, dy, dyOff + i), positive).intoArray(dx, dxOff + i);
        }
        return i;
    }

    private static int tanhBackwardLoop(float[] dy, int dyOff, float[] x, int xOff, float[] dx, int dxOff, int n) {
        VectorSpecies<Float> s = S;
        int i = 0;
        for (int bound = s.loopBound(n); i < bound; i += s.length()) {
            FloatVector t = tanh(FloatVector.fromArray(s, x, xOff + i));
            t.fma(t.neg(), FloatVector.broadcast(s, 1f)).mul(FloatVector.fromArray(s, dy, dyOff + i)).intoArray(dx, dxOff + i);
        }
        return i;
    }

    private static int siluBackwardLoop(float[] dy, int dyOff, float[] x, int xOff, float[] dx, int dxOff, int n) {
        VectorSpecies<Float> s = S;
        int i = 0;
        for (int bound = s.loopBound(n); i < bound; i += s.length()) {
            FloatVector v = FloatVector.fromArray(s, x, xOff + i);
            FloatVector sg = FloatVector.broadcast(s, 1f).div(exp(v.neg()).add(1f));
            FloatVector d = v.mul(sg.neg().add(1f)).add(1f).mul(sg);   // sg·(1 + x·(1 − sg))
            d.mul(FloatVector.fromArray(s, dy, dyOff + i)).intoArray(dx, dxOff + i);
        }
        return i;
    }

    @Override
    void layerNormBackward(float[] dy, int dyOff, float[] x, int xOff, int n, float[] gamma, float eps,
                           float[] dx, int dxOff, float[] dGamma, float[] dBeta) {
        // The forward's statistics, computed by the same code, so x̂ here is bit for bit the forward's.
        float mean = rowMean(x, xOff, n);
        float inv = inverseStd(x, xOff, n, mean, eps);
        layerNormBackward(dy, dyOff, x, xOff, n, gamma, mean, inv, dx, dxOff, dGamma, dBeta);
    }

    /**
     * {@link #layerNormBackward} of a row whose statistics are known. A method of its own: written out in one with
     * rowMean and inverseStd, C2 ran out of nodes (NodeCountInliningCutoff) before it inlined addLanes, whose vector
     * argument it then boxed at every row (51 MB of garbage per MiniLM training step); here only floats and arrays
     * cross a call.
     */
    private void layerNormBackward(float[] dy, int dyOff, float[] x, int xOff, int n, float[] gamma, float mean,
                                   float inv, float[] dx, int dxOff, float[] dGamma, float[] dBeta) {
        VectorSpecies<Float> s = S;
        int l = s.length(), bound = s.loopBound(n), i;
        FloatVector accG = FloatVector.zero(s), accGx = accG;
        for (i = 0; i < bound; i += l) {
            FloatVector xHat = FloatVector.fromArray(s, x, xOff + i).sub(mean).mul(inv);
            FloatVector g = FloatVector.fromArray(s, dy, dyOff + i);
            FloatVector gg = g.mul(FloatVector.fromArray(s, gamma, i));
            accG = accG.add(gg);
            accGx = gg.fma(xHat, accGx);
            g.fma(xHat, FloatVector.fromArray(s, dGamma, i)).intoArray(dGamma, i);
            g.add(FloatVector.fromArray(s, dBeta, i)).intoArray(dBeta, i);
        }
        float sumG = addLanes(accG), sumGx = addLanes(accGx);
        for (int j = i; j < n; j++) {
            float xHat = (x[xOff + j] - mean) * inv, g = dy[dyOff + j];
            sumG += g * gamma[j];
            sumGx += g * gamma[j] * xHat;
            dGamma[j] += g * xHat;
            dBeta[j] += g;
        }
        float meanG = sumG / n, meanGx = sumGx / n;
        for (i = 0; i < bound; i += l) {
            FloatVector xHat = FloatVector.fromArray(s, x, xOff + i).sub(mean).mul(inv);
            FloatVector gg = FloatVector.fromArray(s, dy, dyOff + i).mul(FloatVector.fromArray(s, gamma, i));
            xHat.mul(-meanGx).add(gg).sub(meanG).mul(inv).intoArray(dx, dxOff + i);
        }
        for (; i < n; i++) {
            float xHat = (x[xOff + i] - mean) * inv;
            dx[dxOff + i] = inv * (dy[dyOff + i] * gamma[i] - meanG - xHat * meanGx);
        }
    }

    @Override
    void softmaxBackward(float[] dy, int dyOff, float[] y, int yOff, float[] dx, int dxOff, int n, float scale) {
        VectorSpecies<Float> s = S;
        float dot = dot(dy, dyOff, y, yOff, n);
        int i = 0;
        for (int bound = s.loopBound(n); i < bound; i += s.length()) {
            FloatVector yv = FloatVector.fromArray(s, y, yOff + i);
            FloatVector.fromArray(s, dy, dyOff + i).sub(dot).mul(yv).mul(scale).intoArray(dx, dxOff + i);
        }
        for (; i < n; i++) {
            dx[dxOff + i] = scale * y[yOff + i] * (dy[dyOff + i] - dot);
        }
    }

    @Override
    float logSumExp(float[] z, int off, int n) {
        VectorSpecies<Float> s = S;
        int l = s.length(), bound = s.loopBound(n), i;
        FloatVector vmax = FloatVector.broadcast(s, Float.NEGATIVE_INFINITY);
        for (i = 0; i < bound; i += l) {
            vmax = vmax.max(FloatVector.fromArray(s, z, off + i));
        }
        float max = vmax.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, z[off + i]);
        }
        if (max == Float.NEGATIVE_INFINITY) {
            return max;
        }
        FloatVector vsum = FloatVector.zero(s);
        for (i = 0; i < bound; i += l) {
            vsum = vsum.add(exp(FloatVector.fromArray(s, z, off + i).sub(max)));
        }
        float sum = addLanes(vsum);
        for (; i < n; i++) {
            sum += exp(z[off + i] - max);
        }
        return max + (float) Math.log(sum);
    }

    @Override
    void scaledSoftmax(float[] z, int zOff, float lse, float factor, float[] dz, int dzOff, int n) {
        VectorSpecies<Float> s = S;
        int i = 0;
        for (int bound = s.loopBound(n); i < bound; i += s.length()) {
            exp(FloatVector.fromArray(s, z, zOff + i).sub(lse)).mul(factor).intoArray(dz, dzOff + i);
        }
        for (; i < n; i++) {
            dz[dzOff + i] = factor * exp(z[zOff + i] - lse);
        }
    }

    // ---------------------------------------------------------------- exp and tanh, deterministic

    private static final IntVector ONE_TWENTY_SEVEN = IntVector.broadcast(INTS, 127);

    /**
     * e^x lane by lane: {@link Kernels#exp}'s operations in the same order, so each lane's bits are the
     * scalar function's, in every execution mode (see there why not {@code VectorOperators.EXP}).
     */
    static FloatVector exp(FloatVector x) {
        VectorSpecies<Float> s = S;
        FloatVector xc = clampExp(x);
        FloatVector k = xc.fma(LOG2E, ROUNDER);
        FloatVector n = k.sub(ROUNDER);
        return expReduced(n.fma(FloatVector.broadcast(s, -LN2_LO), n.fma(FloatVector.broadcast(s, -LN2_HI), xc)), k);
    }

    /**
     * {@link #exp} for x ≤ 0 (a score minus its row's maximum): the same operations but the clamp from above, which
     * changes nothing there (x never exceeds EXP_MAX) — one compare and one blend fewer of the 26 operations a vector.
     */
    static FloatVector expOfNonPositive(FloatVector x) {
        VectorSpecies<Float> s = S;
        FloatVector xc = x.blend(EXP_MIN, x.compare(VectorOperators.LT, EXP_MIN));
        FloatVector k = xc.fma(LOG2E, ROUNDER);
        FloatVector n = k.sub(ROUNDER);
        return expReduced(n.fma(FloatVector.broadcast(s, -LN2_LO), n.fma(FloatVector.broadcast(s, -LN2_HI), xc)), k);
    }

    /** x clamped to [EXP_MIN, EXP_MAX] by compare and blend; NaN compares false and stays NaN. */
    private static FloatVector clampExp(FloatVector x) {
        return x.blend(EXP_MAX, x.compare(VectorOperators.GT, EXP_MAX)).blend(EXP_MIN, x.compare(VectorOperators.LT, EXP_MIN));
    }

    /** 2^n·e^r, {@link Kernels#expReduced} lane by lane. */
    private static FloatVector expReduced(FloatVector r, FloatVector k) {
        VectorSpecies<Float> s = S;
        FloatVector p = FloatVector.broadcast(s, EXP_P[0]);
        for (int i = 1; i < EXP_P.length; i++) {   // constant trip count: unrolled by the JIT
            p = p.fma(r, FloatVector.broadcast(s, EXP_P[i]));
        }
        FloatVector e = p.fma(r.mul(r), r).add(1f);
        IntVector ni = ((IntVector) k.reinterpretAsInts()).sub(ROUNDER_BITS), n1 = ni.lanewise(VectorOperators.ASHR, 1);
        FloatVector scale1 = n1.add(ONE_TWENTY_SEVEN).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector scale2 = ni.sub(n1).add(ONE_TWENTY_SEVEN).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return e.mul(scale1).mul(scale2);
    }

    /** tanh lane by lane, {@link Kernels#tanh}'s operations: |tanh| from |x|, then x's sign (so −0 stays −0). */
    static FloatVector tanh(FloatVector x) {
        VectorSpecies<Float> s = S;
        FloatVector a = x.abs();
        FloatVector big = FloatVector.broadcast(s, 1f).sub(FloatVector.broadcast(s, 2f).div(exp(a.add(a)).add(1f)));
        FloatVector z = a.mul(a), q = FloatVector.broadcast(s, TANH_Q[0]);
        for (int i = 1; i < TANH_Q.length; i++) {
            q = q.fma(z, FloatVector.broadcast(s, TANH_Q[i]));
        }
        FloatVector magnitude = q.mul(z).fma(a, a).blend(big, a.compare(VectorOperators.GE, TANH_SMALL));
        IntVector sign = ((IntVector) x.reinterpretAsInts()).and(Integer.MIN_VALUE);
        return ((IntVector) magnitude.reinterpretAsInts()).or(sign).reinterpretAsFloats();
    }

    // ---------------------------------------------------------------- GELU (erf form): Kernels' twin, lane by lane

    /**
     * The rows' slot of the first interval: a lane's slot is max(exponent bits of a, 124) — 124 for a below 0.25,
     * then one per binade — taken modulo the table's length by the lane permutation (selectFrom wraps its indices):
     * 124 … 130 are seven different slots modulo 8, 16 or 32.
     */
    private static final int FIRST_SLOT = 124;

    /** One vector holds a row of the table (at 512 and 256 bits; at 128 bits a row takes two vectors, 8 slots). */
    private static final boolean WIDE_TABLE = S.length() >= 8;

    /**
     * {@link Kernels#GELU_TAIL}'s rows as float bits (ints: an integer lane permutation), interval b in slot
     * (FIRST_SLOT + b) mod the table's length, zeros elsewhere: the first vector of each row, and at 128 bits
     * the second. Static final arrays are not constants to C2: the loops read the rows into locals first.
     */
    private static final IntVector[] TAIL_ROWS = tailRows(0), TAIL_ROWS_HIGH = tailRows(1);

    private static IntVector[] tailRows(int part) {
        int slots = WIDE_TABLE ? S.length() : 2 * S.length();
        int[] table = new int[GELU_TAIL.length * 2 * S.length()];
        for (int row = 0; row < GELU_TAIL.length; row++) {
            for (int b = 0; b < TAIL_INTERVALS; b++) {
                table[row * 2 * S.length() + (FIRST_SLOT + b) % slots] = Float.floatToRawIntBits(GELU_TAIL[row][b]);
            }
        }
        IntVector[] rows = new IntVector[GELU_TAIL.length];
        for (int row = 0; row < rows.length; row++) {
            rows[row] = IntVector.fromArray(INTS, table, (2 * row + part) * S.length());
        }
        return rows;
    }
}
