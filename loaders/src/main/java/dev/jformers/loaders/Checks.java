package dev.jformers.loaders;

import dev.jformers.core.DType;

import java.nio.file.Path;
import java.util.Arrays;

/** Overflow-checked size arithmetic shared by the readers. */
final class Checks {
    private Checks() {
    }

    /** Converts claimed dimensions to an int shape, refusing negative or too-large ones. */
    static int[] shape(Path file, String tensor, long[] dims) {
        if (dims.length > 64) {
            throw LoaderException.of(file, tensor, "rank " + dims.length + " is implausible");
        }
        int[] out = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0 || dims[i] > Integer.MAX_VALUE) {
                throw LoaderException.of(file, tensor, "dimension " + dims[i] + " out of range in shape " + Arrays.toString(dims));
            }
            out[i] = (int) dims[i];
        }
        return out;
    }

    /** numel × element size, or a LoaderException when it overflows a long. */
    static long byteSize(Path file, String tensor, DType dtype, int[] shape) {
        try {
            long n = 1;
            for (int d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return Math.multiplyExact(n, dtype.byteSize());
        } catch (ArithmeticException e) {
            throw LoaderException.of(file, tensor, "shape " + Arrays.toString(shape) + " of " + dtype + " overflows");
        }
    }

    static long numel(Path file, String tensor, int[] shape) {
        try {
            long n = 1;
            for (int d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        } catch (ArithmeticException e) {
            throw LoaderException.of(file, tensor, "shape " + Arrays.toString(shape) + " overflows");
        }
    }
}
