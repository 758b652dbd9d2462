package dev.jformers.loaders;

import dev.jformers.core.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** How a stored tensor becomes the Hugging Face tensor when names are mapped. */
public enum Transform {
    /** Served as stored (zero copy). */
    NONE,
    /** A 2-D [in, out] kernel becomes HF's [out, in] Linear weight (a contiguous copy). */
    TRANSPOSE,
    /** A leading dimension of 1 is dropped, e.g. GPT-2's [1, in, out] conv weights (zero copy). */
    SQUEEZE_FIRST;

    /** The shape after this transform. */
    int[] shape(int[] s) {
        return switch (this) {
            case NONE -> s;
            case TRANSPOSE -> s.length == 2 ? new int[] {s[1], s[0]} : s;
            case SQUEEZE_FIRST -> s.length >= 2 && s[0] == 1 ? java.util.Arrays.copyOfRange(s, 1, s.length) : s;
        };
    }

    Tensor apply(Tensor t) {
        return switch (this) {
            case NONE -> t;
            case TRANSPOSE -> t.rank() == 2 ? transpose2d(t) : t;
            case SQUEEZE_FIRST -> t.rank() >= 2 && t.dim(0) == 1 ? t.select(0, 0) : t;
        };
    }

    /** A contiguous [cols, rows] copy of a 2-D tensor, copied in cache-friendly tiles. */
    static Tensor transpose2d(Tensor t) {
        Tensor src = t.contiguous();
        int rows = src.dim(0), cols = src.dim(1);
        int es = src.dtype().byteSize();
        Tensor out = Tensor.zeros(src.dtype(), cols, rows);
        MemorySegment in = src.segment().asSlice(src.offset() * es, (long) rows * cols * es);
        MemorySegment o = out.segment();
        final int tile = 32;
        for (int r0 = 0; r0 < rows; r0 += tile) {
            for (int c0 = 0; c0 < cols; c0 += tile) {
                int r1 = Math.min(rows, r0 + tile), c1 = Math.min(cols, c0 + tile);
                for (int r = r0; r < r1; r++) {
                    for (int c = c0; c < c1; c++) {
                        long from = ((long) r * cols + c), to = ((long) c * rows + r);
                        switch (es) {
                            case 4 -> o.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, to, in.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, from));
                            case 2 -> o.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, to, in.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, from));
                            case 8 -> o.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, to, in.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, from));
                            default -> o.set(ValueLayout.JAVA_BYTE, to, in.get(ValueLayout.JAVA_BYTE, from));
                        }
                    }
                }
            }
        }
        return out;
    }
}
