package dev.jformers.loaders;

import dev.jformers.core.DType;

import java.util.Arrays;

/**
 * What a checkpoint says about one tensor, without reading its values.
 *
 * @param name     the Hugging Face name
 * @param dtype    element type as stored
 * @param shape    dimensions as stored (after any name-mapping transform such as a transpose)
 * @param byteSize bytes of data ({@code numel * dtype.byteSize()})
 */
public record TensorInfo(String name, DType dtype, int[] shape, long byteSize) {
    public TensorInfo {
        shape = shape.clone();
    }

    /** Throws {@link LoaderException} when the byte count overflows a long (a lying header). */
    public static TensorInfo of(String name, DType dtype, int[] shape) {
        try {
            return new TensorInfo(name, dtype, shape, Math.multiplyExact(numel(shape), dtype.byteSize()));
        } catch (ArithmeticException e) {
            throw new LoaderException("tensor '" + name + "': " + dtype + Arrays.toString(shape) + " has more bytes than a long counts");
        }
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    public long numel() {
        return numel(shape);
    }

    static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && t.name.equals(name) && t.dtype == dtype
                && Arrays.equals(t.shape, shape) && t.byteSize == byteSize;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
