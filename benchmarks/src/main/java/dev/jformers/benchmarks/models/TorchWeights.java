package dev.jformers.benchmarks.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.jformers.core.Tensor;
import dev.jformers.loaders.WeightSource;

/** Copies checkpoint tensors (as jformers' loaders read them, HF names) into libtorch NDArrays. */
final class TorchWeights {
    private final NDManager manager;
    private final WeightSource source;
    private final String prefix;

    TorchWeights(NDManager manager, WeightSource source, String prefix) {
        this.manager = manager;
        this.source = source;
        this.prefix = prefix;
    }

    /** The tensor {@code prefix + name}, float32, its own shape. */
    NDArray get(String name) {
        Tensor t = source.get(prefix + name);
        return manager.create(t.toFloatArray(), new Shape(toLongs(t.shape())));
    }

    /** A [in, out] matrix (GPT-2's Conv1D) transposed into a contiguous [out, in] one, as torch.nn.Linear keeps it. */
    NDArray getTransposed(String name) {
        Tensor t = source.get(prefix + name);
        int in = t.dim(0), out = t.dim(1);
        float[] a = t.toFloatArray(), b = new float[a.length];
        for (int i = 0; i < in; i++) {
            for (int o = 0; o < out; o++) {
                b[o * in + i] = a[i * out + o];
            }
        }
        return manager.create(b, new Shape(out, in));
    }

    private static long[] toLongs(int[] shape) {
        long[] s = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            s[i] = shape[i];
        }
        return s;
    }
}
