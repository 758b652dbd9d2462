package dev.jformers.cpu;

import dev.jformers.core.DType;
import dev.jformers.core.JformersException;
import dev.jformers.core.LinearWeight;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static dev.jformers.cpu.HostTensors.F32;

/**
 * A linear layer's weight packed once for {@link SimdBackend}'s GEMM. Whatever the source layout,
 * the product is C[M, out] = A[M, in] · B[in, out] + bias with B = Wᵀ (OUT_IN) or W (IN_OUT), and B is
 * stored as column panels of {@code panelWidth} (NR) columns:
 *
 * <pre>
 *   panel p = columns [p·NR, p·NR + NR), stored as in rows of NR floats:
 *   B[t][p·NR + j]  at  panels[(p·in + t)·NR + j]      (columns past out are 0)
 * </pre>
 *
 * So the register tile reads one contiguous run of NR floats per step t, and a K block of a panel
 * (rows t0..t0+kc) is one contiguous kc·NR run that stays in cache while the tile sweeps the rows of A.
 * The bias is padded the same way, zeros when the layer has none.
 *
 * <p>A bfloat16 weight (a bf16 checkpoint, or float weights when {@code SimdBackend} is asked for bf16)
 * keeps the same layout in {@link #halfPanels}, 2 bytes a weight, and {@link #panels} is null: the
 * kernels widen each value to float as they read it (exact: a bf16 is the high half of a float), so a
 * bf16 checkpoint computes what Hugging Face computes after upcasting it, from half the memory.
 *
 * <p>An int8 weight (only on request: {@link Storage#INT8}) keeps the same layout in {@link #quantPanels},
 * one byte a weight, with one 16-bit scale per {@value #QBLOCK} consecutive rows t of each column (the
 * input dimension, as llama.cpp's Q8_0, which keeps a float16 scale): {@code B[t][p·NR + j] ≈
 * quantPanels[(p·in + t)·NR + j] · scale(scales, scaleRow(p, t), j)}. The scales of a block form one
 * contiguous row of {@link #scaleInts} ints, two scales an int, so the GEMV loads them as whole vectors once
 * per block. Symmetric: the scale is the block's largest |w| divided by 127, rounded to 11 significant bits
 * ({@link #scaleBits}), and q = round(w / scale), so each weight is off by at most half a scale (about
 * |w|max / 254). 1.0625 bytes a weight in all (512 bits), against 4 for float: decoding, which streams every
 * weight once a token, reads 3.76× fewer bytes.
 */
final class PackedLinear implements LinearWeight {
    /** How the panels keep the weights. */
    enum Storage {
        F32, BF16, INT8
    }

    /** Rows t (input features) that share one int8 scale: the block size of Q8_0. */
    static final int QBLOCK = 32;

    /**
     * Bytes past the int8 panels: the 128-bit kernels convert 4 bytes to floats from a load of 8 (the
     * narrowest byte vector the Vector API has), which may reach past the last panel row.
     */
    private static final int QUANT_PADDING = 16;

    final int in;
    final int out;
    final int panelWidth;
    final int panelCount;
    /** The panels as floats, or null when the weight is kept in bfloat16 or int8. */
    final float[] panels;
    /** The panels as bfloat16 bits (same layout), or null. */
    final short[] halfPanels;
    /** The panels as int8 (same layout, then {@link #QUANT_PADDING} zero bytes), or null. */
    final byte[] quantPanels;
    /**
     * The int8 panels' scales as 16-bit floats, two to an int ({@link #scale}): one row of {@link #scaleInts} ints per
     * panel and block of {@value #QBLOCK} rows, or null.
     */
    final int[] scales;
    /** Ints in a row of {@link #scales}: {@link #scaleInts(int)} of the panel width. */
    final int scaleInts;
    /** Blocks of {@value #QBLOCK} rows along the input: ⌈in / QBLOCK⌉. */
    final int kBlocks;
    final float[] bias;

    private PackedLinear(int in, int out, int panelWidth, Storage storage) {
        this(in, out, panelWidth, storage, null);
    }

    /** With {@code floatPanels} (F32 only, exactly {@link #floats} long): the panels are packed into that array. */
    private PackedLinear(int in, int out, int panelWidth, Storage storage, float[] floatPanels) {
        this.in = in;
        this.out = out;
        this.panelWidth = panelWidth;
        this.panelCount = (out + panelWidth - 1) / panelWidth;
        this.kBlocks = (in + QBLOCK - 1) / QBLOCK;
        long size = floats(in, out, panelWidth);
        if (size > Integer.MAX_VALUE - 8 - QUANT_PADDING) {
            throw new JformersException("linear: a [" + out + ", " + in + "] weight is too large to pack ("
                    + size + " floats)");
        }
        if (floatPanels != null && floatPanels.length != size) {
            throw new IllegalArgumentException("panels of " + floatPanels.length + " floats for " + size);
        }
        this.panels = storage != Storage.F32 ? null : floatPanels != null ? floatPanels : new float[(int) size];
        this.halfPanels = storage == Storage.BF16 ? new short[(int) size] : null;
        this.quantPanels = storage == Storage.INT8 ? new byte[(int) size + QUANT_PADDING] : null;
        this.scaleInts = scaleInts(panelWidth);
        this.scales = storage == Storage.INT8 ? new int[panelCount * kBlocks * scaleInts] : null;
        this.bias = new float[panelCount * panelWidth];
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
    }

    /** {@link SimdBackend#gemvRunStarts} for this weight on some number of threads, kept: a decoding step asks every token. */
    private volatile GemvRuns gemvRuns;

    private record GemvRuns(int threads, int[] starts) {
    }

    /** Where a GEMV over this weight on {@code threads} threads cuts its runs ({@link SimdBackend#gemvRunStarts}). */
    int[] gemvRunStarts(int threads) {
        GemvRuns runs = gemvRuns;
        if (runs == null || runs.threads != threads) {
            double bytesPerWeight = int8() ? 1 + 4.0 * scaleInts / panelWidth / QBLOCK : bf16() ? 2 : 4;
            runs = new GemvRuns(threads, SimdBackend.gemvRunStarts(panelCount, (long) (bytesPerWeight * in * panelWidth), threads));
            gemvRuns = runs;
        }
        return runs.starts;
    }

    /** Bytes of the packed weight (panels, scales and bias). */
    long bytes() {
        long weights = panels != null ? 4L * panels.length : halfPanels != null ? 2L * halfPanels.length : quantPanels.length + 4L * scales.length;
        return weights + 4L * bias.length;
    }

    /** Index in {@link #panels} of row t of panel p. */
    int panelRow(int p, int t) {
        return (p * in + t) * panelWidth;
    }

    /** Whether the weight is kept in bfloat16. */
    boolean bf16() {
        return halfPanels != null;
    }

    /** Whether the weight is kept in int8 with block scales. */
    boolean int8() {
        return quantPanels != null;
    }

    /** Index in {@link #scales} of the scale row of panel p's block that holds row t. */
    int scaleRow(int p, int t) {
        return (p * kBlocks + t / QBLOCK) * scaleInts;
    }

    /**
     * Ints in a scale row of a panel of {@code nr} columns: column j's 16-bit scale ({@link #scaleOf}) shares an int with column j + 16
     * in each run of 32 columns ({@link #scaleIndex}), so a row of 64 takes 32 ints (2 bytes a scale); a panel of
     * at most 16 columns keeps one scale an int, in its high half.
     */
    static int scaleInts(int nr) {
        return nr / 32 * 16 + Math.min(nr % 32, 16);
    }

    /** Index within a scale row of the int that holds column j's scale: j's run of 32, then j mod 16. */
    static int scaleIndex(int j) {
        return j / 32 * 16 + j % 16;
    }

    /**
     * Column j's scale from the scale row at {@code row}: the int's high half for the first 16 columns of each run
     * of 32, its low half for the next 16 (every vector width's 16, 8 or 4 lanes fall within one half), decoded by
     * {@link #scaleOf}.
     */
    static float scale(int[] scales, int row, int j) {
        return scaleOf((scales[row + scaleIndex(j)] << (j & 16)) >>> 16);
    }

    /**
     * Float bits of the 16-bit scale 0: 2^{@value #SCALE_MIN_EXPONENT}, the smallest scale. A 16-bit scale h is 6
     * exponent bits and 10 mantissa bits, no sign (a scale is ≥ 0): the float whose bits are h·2¹³ + this — float16's
     * 11 significant bits, over 2⁻⁴⁰ … 2²⁴ (blocks whose largest |w| is below 127·2⁻⁴⁰ take the smallest scale and
     * stay exact to ±2⁻⁴¹; a block whose largest |w| is 127·2²⁴·(1 − 2⁻¹²) ≈ 2.13·10⁹ or more is refused). Decoding is integer shifts and an add.
     */
    static final int SCALE_BIAS = (127 + PackedLinear.SCALE_MIN_EXPONENT) << 23;
    /** The smallest scale that rounds past the largest 16-bit scale (2²⁴ − 2¹³): 2²⁴ − 2¹², refused. */
    static final float MAX_SCALE = 16773120f;
    /** The exponent of the smallest 16-bit scale. */
    static final int SCALE_MIN_EXPONENT = -40;

    /** The 16-bit scale h (0 … 0xFFFF) as a float: exact, see {@link #SCALE_BIAS}. */
    static float scaleOf(int h) {
        return Float.intBitsToFloat((h << 13) + SCALE_BIAS);
    }

    /**
     * The 16-bit scale nearest {@code scale} (finite, ≥ 0; 0 for scales below 2⁻⁴⁰): 11 significant bits, so the
     * block's largest |w| over the stored scale is at most 127·(1 + 2⁻¹¹) and rounds to ±127 — every q fits a byte.
     */
    static int scaleBits(float scale) {
        int rounded = (Float.floatToRawIntBits(scale) + 0x1000) & ~0x1FFF;   // to 10 mantissa bits, half up
        int h = (rounded - SCALE_BIAS) >> 13;
        if (h < 0) {
            return 0;
        }
        if (h > 0xFFFF) {
            throw new JformersException("linear: int8 weights need |w| below 127 · 2^24 (about 2.1e9); got a block scale of " + scale);
        }
        return h;
    }

    /**
     * Packs {@code weight} kept as {@code storage} asks: F32 keeps a BF16 weight in bf16 (exact, half the
     * memory) and float weights in float; BF16 rounds float weights to the nearest bf16 and INT8 quantises
     * any weight to int8 with block scales — both a change of numerics, so only on request.
     */
    static PackedLinear pack(Tensor weight, Tensor bias, WeightLayout layout, int panelWidth, WorkerPool pool, Storage storage) {
        return repack(null, weight, bias, layout, panelWidth, pool, storage);
    }

    /**
     * {@link #pack}, into {@code previous}'s arrays when it holds a weight of the same shape and storage (training
     * re-packs its master weights after every optimizer step: no fresh panels each time), else into new ones.
     */
    static PackedLinear repack(PackedLinear previous, Tensor weight, Tensor bias, WeightLayout layout, int panelWidth,
                               WorkerPool pool, Storage storage) {
        if (weight.rank() != 2) {
            throw ShapeException.of("linear", "a 2-d weight", weight.shape());
        }
        boolean outIn = layout == WeightLayout.OUT_IN;
        int in = outIn ? weight.dim(1) : weight.dim(0);
        int out = outIn ? weight.dim(0) : weight.dim(1);
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != out)) {
            throw ShapeException.mismatch("linear", weight.shape(), bias.shape(), "bias must be [" + out + "]");
        }
        Storage kept = storage == Storage.F32 && weight.dtype() == DType.BF16 ? Storage.BF16 : storage;
        PackedLinear packed = previous != null && previous.holds(in, out, panelWidth, kept) ? previous
                : new PackedLinear(in, out, panelWidth, kept);
        packed.fill(weight, bias, outIn, pool);
        return packed;
    }

    /** Whether this weight's arrays fit an [in → out] weight packed in panels of panelWidth, kept as storage. */
    private boolean holds(int in, int out, int panelWidth, Storage storage) {
        Storage mine = panels != null ? Storage.F32 : halfPanels != null ? Storage.BF16 : Storage.INT8;
        return this.in == in && this.out == out && this.panelWidth == panelWidth && mine == storage;
    }

    /** Writes the weight and the bias into this weight's arrays (columns past out stay 0). */
    private void fill(Tensor weight, Tensor bias, boolean outIn, WorkerPool pool) {
        float[] b = bias == null ? null : bias.floatArray();
        if (b != null && bias.isContiguous()) {   // a float32 master on the heap: read in place
            System.arraycopy(b, (int) bias.arrayOffset(), this.bias, 0, out);
        } else if (bias != null) {
            System.arraycopy(bias.toFloatArray(), 0, this.bias, 0, out);
        } else {   // re-packed without a bias: none of the old one may stay
            Arrays.fill(this.bias, 0f);
        }
        Tensor w = weight.toF32();
        float[] array = w.floatArray();
        if (panels != null && array != null && w.isContiguous()) {   // float32 on the heap (training re-packs after every step)
            packFloats(this, array, (int) w.arrayOffset(), outIn, pool);
            return;
        }
        MemorySegment seg = w.segment();
        long base = w.offset();
        int tasks = Math.min(panelCount, pool.threads());
        pool.parallelFor(tasks, task -> {
            // one panel of floats per task, reused for each of its panels: row t at t·NR, columns past out 0
            float[] panel = new float[in * panelWidth], row = outIn ? new float[in] : null;
            for (int p = panelCount * task / tasks, end = panelCount * (task + 1) / tasks; p < end; p++) {
                int n0 = p * panelWidth, cols = Math.min(panelWidth, out - n0);
                if (cols < panelWidth) {
                    Arrays.fill(panel, 0f);   // the last panel's columns past out
                }
                if (outIn) {
                    // W[n][t] rows are contiguous in t: read a row, scatter it down column j of the panel.
                    for (int j = 0; j < cols; j++) {
                        MemorySegment.copy(seg, F32, (base + (long) (n0 + j) * in) * 4, row, 0, in);
                        for (int t = 0; t < in; t++) {
                            panel[t * panelWidth + j] = row[t];
                        }
                    }
                } else {
                    // W[t][n] already has the panel's row t contiguous: one copy per row.
                    for (int t = 0; t < in; t++) {
                        MemorySegment.copy(seg, F32, (base + (long) t * out + n0) * 4, panel, t * panelWidth, cols);
                    }
                }
                store(p, panel);
            }
        });
    }

    /** Floats the F32 panels of an [in → out] weight take: whole panels of {@code panelWidth} columns. */
    static long floats(int in, int out, int panelWidth) {
        return (long) (out + panelWidth - 1) / panelWidth * panelWidth * in;
    }

    /**
     * A contiguous float32 heap matrix (no bias) packed into {@code panels}, an array of {@link #floats} floats
     * whose old contents do not matter (columns past out are zeroed): a backward's operand that lives for one
     * product, packed into an array the backend recycles instead of a fresh one each time.
     */
    static PackedLinear packInto(float[] w, int off, int in, int out, WeightLayout layout, int panelWidth,
                                 WorkerPool pool, float[] panels) {
        PackedLinear packed = new PackedLinear(in, out, panelWidth, Storage.F32, panels);
        int valid = out % panelWidth;
        if (valid != 0) {   // the last panel's columns past out must read as zeros
            int first = packed.panelRow(packed.panelCount - 1, 0);
            for (int t = 0; t < in; t++) {
                Arrays.fill(panels, first + t * panelWidth + valid, first + (t + 1) * panelWidth, 0f);
            }
        }
        packFloats(packed, w, off, layout == WeightLayout.OUT_IN, pool);
        return packed;
    }

    /** Float panels straight from a heap array: OUT_IN's rows transposed 8 at a time, IN_OUT's rows copied. */
    private static void packFloats(PackedLinear packed, float[] w, int off, boolean outIn, WorkerPool pool) {
        int in = packed.in, out = packed.out, nr = packed.panelWidth;
        pool.parallelFor(packed.panelCount, p -> {
            int n0 = p * nr, cols = Math.min(nr, out - n0), first = packed.panelRow(p, 0);
            if (outIn) {
                Kernels.transpose(w, off + n0 * in, in, cols, in, packed.panels, first, nr, 1f);
            } else {
                for (int t = 0; t < in; t++) {
                    System.arraycopy(w, off + t * out + n0, packed.panels, first + t * nr, cols);
                }
            }
        });
    }

    /** Stores panel p, given as floats (row t at t·NR), in this weight's storage. */
    private void store(int p, float[] panel) {
        int first = panelRow(p, 0);
        if (panels != null) {
            System.arraycopy(panel, 0, panels, first, panel.length);
        } else if (halfPanels != null) {
            for (int i = 0; i < panel.length; i++) {
                halfPanels[first + i] = Kernels.toBf16(panel[i]);
            }
        } else {
            quantise(p, panel);
        }
    }

    /**
     * Q8_0: per column j and block of {@value #QBLOCK} rows, scale = max |w| / 127 rounded to 16 bits ({@link #scaleBits})
     * and q = round(w / scale).
     */
    private void quantise(int p, float[] panel) {
        int nr = panelWidth, first = panelRow(p, 0);
        for (int t0 = 0; t0 < in; t0 += QBLOCK) {
            int t1 = Math.min(in, t0 + QBLOCK), s = scaleRow(p, t0);
            for (int j = 0; j < nr; j++) {
                float max = 0;
                for (int t = t0; t < t1; t++) {
                    max = Math.max(max, Math.abs(panel[t * nr + j]));
                }
                if (!Float.isFinite(max)) {
                    throw new JformersException("linear: int8 weights need finite values; this [" + out + ", " + in
                            + "] weight has " + max + " in column " + (p * nr + j));
                }
                if (max / 127 >= MAX_SCALE) {
                    throw new JformersException("linear: int8 weights need |w| below about 2.13e9 (127 · 2^24); this [" + out
                            + ", " + in + "] weight has " + max + " in column " + (p * nr + j));
                }
                int bits = scaleBits(max / 127);
                float scale = scaleOf(bits);
                int i = s + scaleIndex(j), shift = j & 16;   // the high half (shift 0) or the low half (16)
                scales[i] = (scales[i] & ~(0xFFFF0000 >>> shift)) | (bits << (16 - shift));
                for (int t = t0; t < t1; t++) {   // an all-zero block stores zeros (a re-pack overwrites old values)
                    quantPanels[first + t * nr + j] = (byte) Math.round(panel[t * nr + j] / scale);
                }
            }
        }
    }

    /**
     * Rows t0..t0+kb of int8 panel p as floats into dst (row t at (t − t0)·NR): a GEMM's K block, dequantised
     * once and then read by the register tile for every row of A. The block need not start on a scale block.
     *
     * <p>Why not an int8 GEMM: the Vector API has no int8 dot product, and a 4 × 64 register tile that widens
     * int8 panel values in its inner loop measured 7% slower than the float tile (98 against 105 GFLOP/s, Zen 4,
     * 128 × 512 × 3072), before the per-block scales, which would need 16 more accumulators than the registers
     * hold. Dequantising block by block costs at most ~9% against float weights (128 × 768 × 3072: 6.92 against
     * 7.04 ms; 32 × 768 × 3072: 1.77 against 1.61 ms) and keeps the weights in int8.
     */
    void dequantise(Kernels kernels, int p, int t0, int kb, float[] dst) {
        for (int t = t0, end = t0 + kb; t < end; ) {
            int next = Math.min(end, (t / QBLOCK + 1) * QBLOCK);   // the rows up to the next scale block
            kernels.dequantInt8(quantPanels, panelRow(p, t), scales, scaleRow(p, t), next - t, dst, (t - t0) * panelWidth);
            t = next;
        }
    }

    /** The weight B[t][p·NR + j] as the kernels see it (dequantised or widened): for tests. */
    float weightAt(int p, int t, int j) {
        int i = panelRow(p, t) + j;
        if (panels != null) {
            return panels[i];
        }
        if (halfPanels != null) {
            return Kernels.bf16ToFloat(halfPanels[i]);
        }
        return quantPanels[i] * scale(scales, scaleRow(p, t), j);
    }
}
