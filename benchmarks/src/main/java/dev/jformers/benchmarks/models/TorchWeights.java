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
        return inTorchMemory(manager.create(t.toFloatArray(), new Shape(toLongs(t.shape()))));
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
        return inTorchMemory(manager.create(b, new Shape(out, in)));
    }

    /**
     * DJL's {@code create} wraps a JVM direct buffer; a clone moves the tensor into memory from libtorch's
     * own CPU allocator, as a model loaded by torch itself has it — and that allocator gives large tensors
     * transparent huge pages when THP_MEM_ALLOC_ENABLE=1 (compare.sh sets it, as the JVM side runs with
     * -XX:+UseTransparentHugePages).
     */
    private static NDArray inTorchMemory(NDArray wrapped) {
        NDArray own = wrapped.duplicate();
        wrapped.close();
        return own;
    }

    private static long[] toLongs(int[] shape) {
        long[] s = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            s[i] = shape[i];
        }
        return s;
    }
}
