package dev.jformers.loaders;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** What {@code jformers inspect} prints: every tensor's dtype and shape, with totals. */
public final class Inspect {
    private Inspect() {
    }

    /**
     * @param format     the checkpoint format
     * @param tensors    every tensor, in file order
     * @param parameters total number of elements
     * @param bytes      total bytes of tensor data
     * @param byDType    bytes per dtype name
     * @param metadata   the checkpoint's metadata
     */
    public record Inspection(Path path, String format, List<TensorInfo> tensors, long parameters, long bytes,
                             Map<String, Long> byDType, Map<String, String> metadata) {
    }

    /** Reads only headers and indexes: no tensor data is touched. */
    public static Inspection describe(Path path) {
        try (WeightSource src = Checkpoints.open(path)) {
            List<TensorInfo> infos = new ArrayList<>();
            long params = 0, bytes = 0;
            Map<String, Long> byDType = new TreeMap<>();
            for (String n : src.names()) {
                TensorInfo i = src.info(n);
                infos.add(i);
                params += i.numel();
                bytes += i.byteSize();
                byDType.merge(i.dtype().safetensorsName(), i.byteSize(), Long::sum);
            }
            return new Inspection(src.path(), src.format(), List.copyOf(infos), params, bytes, byDType, src.metadata());
        }
    }
}
