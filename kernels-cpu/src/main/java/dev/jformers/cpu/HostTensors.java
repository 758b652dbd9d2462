package dev.jformers.cpu;

import dev.jformers.core.DType;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Small helpers the CPU backends share for reading host tensors. */
final class HostTensors {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private HostTensors() {
    }

    /** Number of rows when the last dimension is the row: numel / last dim. */
    static long rows(Tensor t) {
        int last = t.rank() == 0 ? 1 : t.dim(-1);
        return last == 0 ? 0 : t.numel() / last;
    }

    /**
     * Element offset of row {@code row} of a tensor viewed as [rows, lastDim], for any strides
     * (rows are numbered in row-major order over the leading dimensions).
     */
    static long rowOffset(Tensor t, long row) {
        long off = t.offset();
        for (int d = t.rank() - 2; d >= 0; d--) {   // dim and stride, not shape() and strides(): those copy, per row
            off += (row % t.dim(d)) * t.stride(d);
            row /= t.dim(d);
        }
        return off;
    }

    static void requireF32(String op, Tensor t) {
        if (t.dtype() != DType.F32) {
            throw new ShapeException(op + ": expected a float32 tensor, got " + t);
        }
    }

    static void requireLastDimContiguous(String op, Tensor t) {
        if (t.rank() > 0 && t.dim(-1) > 1 && t.stride(-1) != 1) {
            throw new ShapeException(op + ": the last dimension of " + t + " must be contiguous");
        }
    }

    /**
     * The tensor itself if it is float32 in a float[] on the heap (kernels then read its array in
     * place, through {@link Tensor#floatArray()} and its strides), else a contiguous float[] copy.
     */
    static Tensor onHeap(Tensor t) {
        return t.floatArray() != null ? t : copyOnHeap(t);
    }

    /** {@link #onHeap}, and contiguous: rows of the last dimension one after another in the array. */
    static Tensor contiguousOnHeap(Tensor t) {
        return t.floatArray() != null && t.isContiguous() ? t : copyOnHeap(t);
    }

    /** A contiguous float32 copy of t in a float[] (one copy: the one toF32 or contiguous makes, if it is on the heap). */
    private static Tensor copyOnHeap(Tensor t) {
        Tensor c = t.toF32().contiguous();
        if (c != t && c.floatArray() != null) {
            return c;
        }
        Tensor h = newF32(t.shape());
        MemorySegment.copy(c.segment(), F32, c.offset() * 4, h.floatArray(), 0, (int) c.numel());
        return h;
    }

    /** The number of floats of a tensor of this shape, checked against Java's array limit. */
    static int arrayLength(int... shape) {
        long n = 1;
        for (int d : shape) {
            n = Math.multiplyExact(n, d);
        }
        if (n > Integer.MAX_VALUE - 16) {
            throw new ShapeException("tensor too large for the CPU kernels' arrays: " + java.util.Arrays.toString(shape));
        }
        return (int) n;
    }

    /**
     * A zero-filled float32 tensor in a float[] of its own, whatever its size up to Java's array limit
     * (Tensor.zeros may use native memory, which the kernels can't address as an array).
     */
    static Tensor newF32(int... shape) {
        return Tensor.wrap(MemorySegment.ofArray(new float[arrayLength(shape)]), DType.F32, shape);
    }

    /** The elements of a 1-d parameter as an array: its own float[] when it is exactly that (read only!), else a copy. */
    static float[] vector(Tensor t) {
        float[] a = t.wholeArray();
        return a != null && a.length == t.numel() ? a : t.toFloatArray();
    }

}
