package dev.jformers.core;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * An n-dimensional array: a dtype, a shape, strides (in elements) and an offset into a
 * {@link Storage}. Views ({@link #reshape}, {@link #transpose}, {@link #narrow}, {@link #select})
 * share the storage and never copy; {@link #contiguous()} and {@link #toF32()} copy only when
 * they must. Tensors are immutable handles; the bytes behind them are written only by the
 * backend that created them.
 */
public final class Tensor {
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Alignment of buffers jformers allocates: one 512-bit vector. */
    public static final long ALIGNMENT = 64;

    /** Tensors up to this many bytes are allocated on the Java heap (see {@link #zeros}). */
    static final long HEAP_LIMIT = Long.getLong("jformers.heapTensorLimit", Integer.MAX_VALUE - 16);

    private final Storage storage;
    private final DType dtype;
    private final int[] shape;
    private final long[] strides;
    private final long offset;

    private Tensor(Storage storage, DType dtype, int[] shape, long[] strides, long offset) {
        this.storage = storage;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
    }

    // ---------------------------------------------------------------- creation

    /** A contiguous tensor over existing storage, starting at element {@code offset}. */
    public static Tensor of(Storage storage, DType dtype, long offset, int... shape) {
        checkShape(shape);
        long needed = offset < 0 ? -1 : byteSize(dtype, offset, shape);
        if (offset < 0 || needed > storage.byteSize()) {
            throw new ShapeException("Tensor: " + dtype + Arrays.toString(shape) + " at element " + offset
                    + " needs " + needed + " bytes, storage has " + storage.byteSize());
        }
        return new Tensor(storage, dtype, shape.clone(), contiguousStrides(shape), offset);
    }

    /** A contiguous tensor viewing {@code segment} (for instance a memory-mapped file region). */
    public static Tensor wrap(MemorySegment segment, DType dtype, int... shape) {
        return of(new Storage.Host(segment), dtype, 0, shape);
    }

    /**
     * A zero-filled host tensor whose memory the garbage collector frees: on the Java heap up to
     * {@code jformers.heapTensorLimit} bytes (F32 as a {@code float[]}, so that kernels can work on
     * the array itself; other dtypes as a {@code byte[]}), above that 64-byte aligned native memory.
     */
    public static Tensor zeros(DType dtype, int... shape) {
        checkShape(shape);
        long bytes = Math.max(1, byteSize(dtype, 0, shape));
        // Activations live on the Java heap: allocating is a pointer bump and the young-generation GC
        // frees them at once, where fresh native memory is page-faulted and zeroed on every forward
        // pass and returned only after a GC.
        MemorySegment seg;
        if (bytes > HEAP_LIMIT) {
            seg = Arena.ofAuto().allocate(bytes, ALIGNMENT);
        } else if (dtype == DType.F32) {
            seg = MemorySegment.ofArray(new float[(int) ((bytes + 3) / 4)]);
        } else {
            seg = MemorySegment.ofArray(new byte[(int) bytes]);
        }
        return new Tensor(new Storage.Host(seg), dtype, shape.clone(), contiguousStrides(shape), 0);
    }

    /**
     * The float[] holding this host F32 tensor's elements, or null (native or mapped memory, other
     * dtypes, device tensors). Element i of the tensor (at {@link #offset()} + Σ index·stride) is at
     * {@code array[arrayOffset() + …]}: see {@link #arrayOffset()}.
     */
    public float[] floatArray() {
        if (dtype != DType.F32 || !(storage instanceof Storage.Host)) {
            return null;
        }
        return storage.segment().heapBase().orElse(null) instanceof float[] a ? a : null;
    }

    /**
     * {@link #floatArray()} if this tensor is all that its storage holds — contiguous from element 0 of the array and
     * as long as its segment (the whole array, or the first floats of a longer array that a backend recycled) — else
     * null. Every other tensor over that array is then a view of this one's elements; a narrowed or reshaped-smaller
     * view is not all of it.
     */
    public float[] wholeArray() {
        float[] a = floatArray();
        return a != null && arrayOffset() == 0 && isContiguous() && numel() * Float.BYTES == segment().byteSize() ? a : null;
    }

    /** Index in {@link #floatArray()} of this tensor's element at {@link #offset()}. */
    public long arrayOffset() {
        return storage.segment().address() / Float.BYTES + offset;
    }

    /** An F32 tensor holding a copy of {@code data}. */
    public static Tensor of(float[] data, int... shape) {
        requireLength(data.length, shape);
        Tensor t = zeros(DType.F32, shape);
        MemorySegment.copy(data, 0, t.segment(), F32_LE, 0, data.length);
        return t;
    }

    /** An I64 tensor holding a copy of {@code data}. */
    public static Tensor ofLongs(long[] data, int... shape) {
        requireLength(data.length, shape);
        Tensor t = zeros(DType.I64, shape);
        MemorySegment.copy(data, 0, t.segment(), I64_LE, 0, data.length);
        return t;
    }

    /** An F32 scalar-free helper: a tensor filled with {@code value}. */
    public static Tensor full(float value, int... shape) {
        Tensor t = zeros(DType.F32, shape);
        MemorySegment seg = t.segment();
        for (long i = 0, n = t.numel(); i < n; i++) {
            seg.setAtIndex(F32_LE, i, value);
        }
        return t;
    }

    private static void requireLength(int length, int[] shape) {
        checkShape(shape);
        if (numel(shape) != length) {
            throw new ShapeException("Tensor.of: " + length + " values don't fill shape " + Arrays.toString(shape));
        }
    }

    private static void checkShape(int[] shape) {
        for (int d : shape) {
            if (d < 0) {
                throw new ShapeException("negative dimension in shape " + Arrays.toString(shape));
            }
        }
    }

    static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** (offset + numel) × element size, refused with a ShapeException where it overflows a long. */
    private static long byteSize(DType dtype, long offset, int[] shape) {
        try {
            return Math.multiplyExact(Math.addExact(offset, numel(shape)), dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new ShapeException("Tensor: " + dtype + Arrays.toString(shape) + " has more bytes than a long counts");
        }
    }

    static long[] contiguousStrides(int[] shape) {
        long[] s = new long[shape.length];
        long stride = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = stride;
            stride *= shape[i];
        }
        return s;
    }

    // ---------------------------------------------------------------- accessors

    public DType dtype() {
        return dtype;
    }

    /** A copy of the shape. */
    public int[] shape() {
        return shape.clone();
    }

    /** Size of dimension {@code d}; negative counts from the end. */
    public int dim(int d) {
        return shape[axis(d)];
    }

    public int rank() {
        return shape.length;
    }

    /** Number of elements. */
    public long numel() {
        return numel(shape);
    }

    /** A copy of the strides, in elements. */
    public long[] strides() {
        return strides.clone();
    }

    public long stride(int d) {
        return strides[axis(d)];
    }

    /** Offset of element [0, 0, …] in the storage, in elements. */
    public long offset() {
        return offset;
    }

    public Storage storage() {
        return storage;
    }

    /**
     * The same view (shape, strides) over another storage, with element [0, 0, …] at {@code offset}:
     * how training lays a gradient buffer out exactly like the activation it belongs to.
     */
    public Tensor viewOver(Storage other, long offset) {
        long last = offset;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 0) {
                last = offset;
                break;
            }
            last += (shape[i] - 1) * strides[i];
        }
        if (offset < 0 || (last + 1) * dtype.byteSize() > other.byteSize()) {
            throw new ShapeException("viewOver: " + this + " at element " + offset + " does not fit a storage of "
                    + other.byteSize() + " bytes");
        }
        return new Tensor(other, dtype, shape.clone(), strides.clone(), offset);
    }

    public boolean isHost() {
        return storage.isHost();
    }

    /** The whole host segment behind this tensor (index it with {@link #offset()} and strides). */
    public MemorySegment segment() {
        if (!storage.isHost()) {
            throw new JformersException("tensor " + this + " lives on a device; download it first");
        }
        return storage.segment();
    }

    /** Row-major with no gaps. */
    public boolean isContiguous() {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }

    private int axis(int d) {
        int a = d < 0 ? d + shape.length : d;
        if (a < 0 || a >= shape.length) {
            throw new ShapeException("dimension " + d + " out of range for shape " + Arrays.toString(shape));
        }
        return a;
    }

    // ---------------------------------------------------------------- views

    /** Same elements, new shape; one dimension may be -1. Copies only if not contiguous. */
    public Tensor reshape(int... newShape) {
        int[] resolved = newShape.clone();
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < resolved.length; i++) {
            if (resolved[i] == -1) {
                if (inferred >= 0) {
                    throw new ShapeException("reshape: more than one -1 in " + Arrays.toString(newShape));
                }
                inferred = i;
            } else {
                known *= resolved[i];
            }
        }
        if (inferred >= 0) {
            if (known == 0 || numel() % known != 0) {
                throw ShapeException.mismatch("reshape", shape, newShape, "element counts differ");
            }
            resolved[inferred] = (int) (numel() / known);
        }
        checkShape(resolved);
        if (numel(resolved) != numel()) {
            throw ShapeException.mismatch("reshape", shape, newShape, "element counts differ");
        }
        Tensor base = isContiguous() ? this : contiguous();
        return new Tensor(base.storage, dtype, resolved, contiguousStrides(resolved), base.offset);
    }

    /** Swaps two dimensions (a view). */
    public Tensor transpose(int d0, int d1) {
        int a = axis(d0), b = axis(d1);
        int[] s = shape.clone();
        long[] st = strides.clone();
        s[a] = shape[b];
        s[b] = shape[a];
        st[a] = strides[b];
        st[b] = strides[a];
        return new Tensor(storage, dtype, s, st, offset);
    }

    /** Reorders dimensions: result dim i is this tensor's dim {@code order[i]} (a view). */
    public Tensor permute(int... order) {
        if (order.length != shape.length) {
            throw ShapeException.of("permute", "an order of " + shape.length + " dimensions", order);
        }
        int[] s = new int[order.length];
        long[] st = new long[order.length];
        boolean[] seen = new boolean[order.length];
        for (int i = 0; i < order.length; i++) {
            int a = axis(order[i]);
            if (seen[a]) {
                throw ShapeException.of("permute", "each dimension once", order);
            }
            seen[a] = true;
            s[i] = shape[a];
            st[i] = strides[a];
        }
        return new Tensor(storage, dtype, s, st, offset);
    }

    /** Elements {@code start .. start+length-1} along {@code d} (a view). */
    public Tensor narrow(int d, int start, int length) {
        int a = axis(d);
        if (start < 0 || length < 0 || start + length > shape[a]) {
            throw new ShapeException("narrow: [" + start + ", " + (start + length) + ") outside dimension " + a
                    + " of shape " + Arrays.toString(shape));
        }
        int[] s = shape.clone();
        s[a] = length;
        return new Tensor(storage, dtype, s, strides, offset + start * strides[a]);
    }

    /** Index {@code index} along {@code d}, dropping that dimension (a view). */
    public Tensor select(int d, int index) {
        int a = axis(d);
        if (index < 0 || index >= shape[a]) {
            throw new ShapeException("select: index " + index + " outside dimension " + a + " of shape "
                    + Arrays.toString(shape));
        }
        int[] s = new int[shape.length - 1];
        long[] st = new long[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i != a) {
                s[j] = shape[i];
                st[j++] = strides[i];
            }
        }
        return new Tensor(storage, dtype, s, st, offset + index * strides[a]);
    }

    /** Inserts a dimension of size 1 at {@code d} (a view). */
    public Tensor unsqueeze(int d) {
        int a = d < 0 ? d + shape.length + 1 : d;
        if (a < 0 || a > shape.length) {
            throw new ShapeException("unsqueeze: dimension " + d + " out of range for shape " + Arrays.toString(shape));
        }
        int[] s = new int[shape.length + 1];
        long[] st = new long[shape.length + 1];
        for (int i = 0, j = 0; i < s.length; i++) {
            if (i == a) {
                s[i] = 1;
                st[i] = a < shape.length ? strides[a] * shape[a] : 1;
            } else {
                s[i] = shape[j];
                st[i] = strides[j++];
            }
        }
        return new Tensor(storage, dtype, s, st, offset);
    }

    // ---------------------------------------------------------------- copies and conversion

    /** This tensor if it is contiguous, else a contiguous host copy of the same dtype. */
    public Tensor contiguous() {
        if (isContiguous()) {
            return this;
        }
        Tensor out = zeros(dtype, shape);
        MemorySegment src = segment(), dst = out.segment();
        int es = dtype.byteSize();
        long n = numel();
        if (innerRunIsDense()) {   // a view such as h[:, 0] or a slice of columns: copy whole rows
            long run = shape[shape.length - 1];
            long[] idx = new long[shape.length];
            for (long i = 0; i < n; i += run) {
                MemorySegment.copy(src, elementOffset(idx) * es, dst, i * es, run * es);
                increment(idx, idx.length - 2);   // the next row: the last index stays 0
            }
            return out;
        }
        long[] idx = new long[shape.length];
        for (long i = 0; i < n; i++) {
            MemorySegment.copy(src, elementOffset(idx) * es, dst, i * es, es);
            increment(idx);
        }
        return out;
    }

    /** Whether the last dimension's elements are adjacent (stride 1), so a row can be copied as one run. */
    private boolean innerRunIsDense() {
        return shape.length > 0 && shape[shape.length - 1] > 1 && strides[shape.length - 1] == 1 && numel() > 0;
    }

    /** A contiguous F32 host tensor with these values (this one if it already is). */
    public Tensor toF32() {
        if (dtype == DType.F32 && isContiguous()) {
            return this;
        }
        float[] values = toFloatArray();
        return of(values, shape);
    }

    /** Storage index of the element at {@code idx}. */
    long elementOffset(long[] idx) {
        long o = offset;
        for (int i = 0; i < idx.length; i++) {
            o += idx[i] * strides[i];
        }
        return o;
    }

    private void increment(long[] idx) {
        increment(idx, idx.length - 1);
    }

    /** The next index in row-major order, counting from dimension {@code last} (the one before the last: the next row). */
    private void increment(long[] idx, int last) {
        for (int d = last; d >= 0; d--) {
            if (++idx[d] < shape[d]) {
                return;
            }
            idx[d] = 0;
        }
    }

    /** The element at {@code idx}, converted to float. */
    public float getFloat(int... idx) {
        if (idx.length != shape.length) {
            throw ShapeException.of("getFloat", "an index of " + shape.length + " dimensions", idx);
        }
        long o = offset;
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < 0 || idx[i] >= shape[i]) {
                throw new ShapeException("getFloat: index " + Arrays.toString(idx) + " outside shape " + Arrays.toString(shape));
            }
            o += idx[i] * strides[i];
        }
        return readFloat(segment(), dtype, o);
    }

    /** All elements in row-major order, converted to float. */
    public float[] toFloatArray() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new JformersException("tensor " + this + " is too large for a Java array");
        }
        float[] out = new float[(int) n];
        MemorySegment seg = segment();
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment.copy(seg, F32_LE, offset * 4, out, 0, out.length);
            return out;
        }
        long[] idx = new long[shape.length];
        if (dtype == DType.F32 && innerRunIsDense()) {   // a strided float32 view: copy whole rows
            int run = shape[shape.length - 1];
            for (int i = 0; i < out.length; i += run) {
                MemorySegment.copy(seg, F32_LE, elementOffset(idx) * 4, out, i, run);
                increment(idx, idx.length - 2);   // the next row: the last index stays 0
            }
            return out;
        }
        for (int i = 0; i < out.length; i++) {
            out[i] = readFloat(seg, dtype, elementOffset(idx));
            increment(idx);
        }
        return out;
    }

    /** All elements in row-major order as longs (integer and bool dtypes; floats are truncated). */
    public long[] toLongArray() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new JformersException("tensor " + this + " is too large for a Java array");
        }
        long[] out = new long[(int) n];
        MemorySegment seg = segment();
        long[] idx = new long[shape.length];
        for (int i = 0; i < out.length; i++) {
            long o = elementOffset(idx);
            out[i] = switch (dtype) {
                case I64 -> seg.get(I64_LE, o * 8);
                case I32 -> seg.get(I32_LE, o * 4);
                case I16 -> seg.get(I16_LE, o * 2);
                case I8 -> seg.get(ValueLayout.JAVA_BYTE, o);
                case U8, BOOL -> seg.get(ValueLayout.JAVA_BYTE, o) & 0xFF;
                default -> (long) readFloat(seg, dtype, o);
            };
            increment(idx);
        }
        return out;
    }

    /** Reads element {@code index} (in elements) of a segment holding {@code dtype} values. */
    public static float readFloat(MemorySegment seg, DType dtype, long index) {
        return switch (dtype) {
            case F32 -> seg.get(F32_LE, index * 4);
            case F16 -> Float.float16ToFloat(seg.get(I16_LE, index * 2));
            case BF16 -> Float.intBitsToFloat((seg.get(I16_LE, index * 2) & 0xFFFF) << 16);
            case F64 -> (float) seg.get(F64_LE, index * 8);
            case I64 -> seg.get(I64_LE, index * 8);
            case I32 -> seg.get(I32_LE, index * 4);
            case I16 -> seg.get(I16_LE, index * 2);
            case I8 -> seg.get(ValueLayout.JAVA_BYTE, index);
            case U8, BOOL -> seg.get(ValueLayout.JAVA_BYTE, index) & 0xFF;
        };
    }

    /** Shape and dtype as in "F32[2, 9, 32]". */
    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}
