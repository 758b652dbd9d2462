package dev.jformers.cpu;

import dev.jformers.core.DType;
import dev.jformers.core.JformersException;
import dev.jformers.core.LinearWeight;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;

import java.lang.foreign.MemorySegment;

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
 */
final class PackedLinear implements LinearWeight {
    final int in;
    final int out;
    final int panelWidth;
    final int panelCount;
    /** The panels as floats, or null when the weight is kept in bfloat16. */
    final float[] panels;
    /** The panels as bfloat16 bits (same layout), or null. */
    final short[] halfPanels;
    final float[] bias;

    private PackedLinear(int in, int out, int panelWidth, boolean bf16) {
        this.in = in;
        this.out = out;
        this.panelWidth = panelWidth;
        this.panelCount = (out + panelWidth - 1) / panelWidth;
        long size = (long) panelCount * panelWidth * in;
        if (size > Integer.MAX_VALUE - 8) {
            throw new JformersException("linear: a [" + out + ", " + in + "] weight is too large to pack ("
                    + size + " floats)");
        }
        this.panels = bf16 ? null : new float[(int) size];
        this.halfPanels = bf16 ? new short[(int) size] : null;
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

    /** Index in {@link #panels} of row t of panel p. */
    int panelRow(int p, int t) {
        return (p * in + t) * panelWidth;
    }

    /** Whether the weight is kept in bfloat16. */
    boolean bf16() {
        return halfPanels != null;
    }

    /**
     * Packs {@code weight}; in bfloat16 when it is BF16 already, or when {@code toBf16} asks for it (float
     * weights then round to the nearest bf16 — a change of numerics, so only on request).
     */
    static PackedLinear pack(Tensor weight, Tensor bias, WeightLayout layout, int panelWidth, WorkerPool pool, boolean toBf16) {
        if (weight.rank() != 2) {
            throw ShapeException.of("linear", "a 2-d weight", weight.shape());
        }
        boolean outIn = layout == WeightLayout.OUT_IN;
        int in = outIn ? weight.dim(1) : weight.dim(0);
        int out = outIn ? weight.dim(0) : weight.dim(1);
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != out)) {
            throw ShapeException.mismatch("linear", weight.shape(), bias.shape(), "bias must be [" + out + "]");
        }
        boolean bf16 = toBf16 || weight.dtype() == DType.BF16;
        PackedLinear packed = new PackedLinear(in, out, panelWidth, bf16);
        if (bias != null) {
            float[] b = bias.toFloatArray();
            System.arraycopy(b, 0, packed.bias, 0, out);
        }
        Tensor w = weight.toF32();
        MemorySegment seg = w.segment();
        long base = w.offset();
        pool.parallelFor(packed.panelCount, p -> {
            int n0 = p * panelWidth, cols = Math.min(panelWidth, out - n0);
            if (outIn) {
                // W[n][t] rows are contiguous in t: read a row, scatter it down column j of the panel.
                float[] row = new float[in];
                for (int j = 0; j < cols; j++) {
                    MemorySegment.copy(seg, F32, (base + (long) (n0 + j) * in) * 4, row, 0, in);
                    for (int t = 0; t < in; t++) {
                        packed.set(packed.panelRow(p, t) + j, row[t]);
                    }
                }
            } else {
                // W[t][n] already has the panel's row t contiguous: one copy per row (via a row buffer for bf16).
                float[] row = packed.bf16() ? new float[cols] : null;
                for (int t = 0; t < in; t++) {
                    long from = (base + (long) t * out + n0) * 4;
                    if (row == null) {
                        MemorySegment.copy(seg, F32, from, packed.panels, packed.panelRow(p, t), cols);
                        continue;
                    }
                    MemorySegment.copy(seg, F32, from, row, 0, cols);
                    for (int j = 0; j < cols; j++) {
                        packed.set(packed.panelRow(p, t) + j, row[j]);
                    }
                }
            }
        });
        return packed;
    }

    private void set(int index, float value) {
        if (halfPanels != null) {
            halfPanels[index] = Kernels.toBf16(value);
        } else {
            panels[index] = value;
        }
    }
}
