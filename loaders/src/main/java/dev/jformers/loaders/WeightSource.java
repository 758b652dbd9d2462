package dev.jformers.loaders;

import dev.jformers.core.Tensor;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A checkpoint opened for reading: tensor names (as a Hugging Face model names them) to
 * tensors. Tensors are usually views of memory-mapped files, so they stay valid only until
 * {@link #close()}; copy ({@link Tensor#toF32()} of a non-F32 tensor, or
 * {@link Tensor#contiguous()} of a view) what must outlive the source.
 */
public interface WeightSource extends AutoCloseable {

    /** Short name of the format: "safetensors", "pytorch-zip", "pytorch-legacy", "tensorflow", "onnx", … */
    String format();

    /** The file, directory or TF prefix this source was opened from. */
    Path path();

    /** Tensor names in file order. */
    Set<String> names();

    default boolean contains(String name) {
        return names().contains(name);
    }

    /** Dtype, shape and size of {@code name} without reading its values; throws if absent. */
    TensorInfo info(String name);

    /** The tensor {@code name}; throws {@link LoaderException} if absent or unreadable. */
    Tensor get(String name);

    /** Every tensor, in {@link #names()} order. */
    default Map<String, Tensor> getAll() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String n : names()) {
            out.put(n, get(n));
        }
        return out;
    }

    /** Free-form metadata (safetensors {@code __metadata__}, …); may be empty. */
    Map<String, String> metadata();

    /** Unmaps the files: tensors obtained from this source become invalid. */
    @Override
    void close();
}
