package dev.jformers.loaders;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.jformers.core.Tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes tensors as a safetensors file, laid out like Hugging Face's writer: header JSON
 * ({@code __metadata__} first) padded with spaces to a multiple of 8 bytes, then each tensor's
 * bytes in map order. The file is written to a temporary sibling and moved into place.
 */
public final class SafetensorsWriter {
    private static final JsonFactory JSON = new JsonFactory();

    private SafetensorsWriter() {
    }

    /** Writes {@code tensors} (any dtype, host memory, any strides) and {@code metadata} to {@code file}. */
    public static void write(Map<String, Tensor> tensors, Map<String, String> metadata, Path file) {
        byte[] json = header(tensors, metadata, file);
        int padded = (json.length + 7) & ~7;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();

        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, head);
            for (Tensor t : tensors.values()) {
                Tensor c = t.contiguous();
                long es = c.dtype().byteSize();
                MemorySegment bytes = c.segment().asSlice(c.offset() * es, c.numel() * es);
                // Write in chunks: a ByteBuffer view is limited to 2 GB, and only native or byte[]
                // memory has one (F32 tensors on the heap are float[]: copied out 16 MB at a time).
                boolean view = bytes.isNative() || bytes.heapBase().orElse(null) instanceof byte[];
                long chunk = view ? 1 << 30 : 1 << 24;
                for (long pos = 0; pos < bytes.byteSize(); pos += chunk) {
                    MemorySegment part = bytes.asSlice(pos, Math.min(chunk, bytes.byteSize() - pos));
                    writeFully(ch, view ? part.asByteBuffer() : ByteBuffer.wrap(part.toArray(ValueLayout.JAVA_BYTE)));
                }
            }
        } catch (IOException e) {
            throw new LoaderException(file + ": cannot write: " + e.getMessage(), e);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new LoaderException(file + ": cannot move " + tmp + " into place: " + e.getMessage(), e);
        }
    }

    /** safetensors' dtype order (its Dtype enum); its writer puts the larger first. */
    private static final List<String> DTYPE_ORDER = List.of("BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
            "BF16", "I32", "U32", "F32", "F64", "I64", "U64");

    /**
     * The tensors in the order Hugging Face's safetensors writer lays them out (and {@link #write} then keeps):
     * by dtype, the later in safetensors' Dtype enum first (I64 before F32 before BOOL), then by name.
     */
    public static Map<String, Tensor> inHuggingFaceOrder(Map<String, Tensor> tensors) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        tensors.entrySet().stream()
                .sorted(Comparator.comparing((Map.Entry<String, Tensor> e) -> -DTYPE_ORDER.indexOf(e.getValue().dtype()
                        .safetensorsName())).thenComparing(Map.Entry::getKey))
                .forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    /** Converts any checkpoint {@link Checkpoints#open} reads into a safetensors file (keeping its metadata). */
    public static void convert(Path source, Path target) {
        try (WeightSource src = Checkpoints.open(source)) {
            Map<String, String> meta = new java.util.LinkedHashMap<>(src.metadata());
            meta.putIfAbsent("format", "pt"); // what transformers expects of a PyTorch-side file
            write(src.getAll(), meta, target);
        }
    }

    /** {"__metadata__": {…}, name: {"dtype", "shape", "data_offsets"}, …} with offsets in map order. */
    private static byte[] header(Map<String, Tensor> tensors, Map<String, String> metadata, Path file) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            if (metadata != null && !metadata.isEmpty()) {
                g.writeObjectFieldStart("__metadata__");
                for (Map.Entry<String, String> m : metadata.entrySet()) {
                    g.writeStringField(m.getKey(), m.getValue());
                }
                g.writeEndObject();
            }
            long offset = 0;
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                if (e.getKey().equals("__metadata__")) {
                    throw new LoaderException(file + ": '__metadata__' cannot name a tensor");
                }
                Tensor t = e.getValue();
                long bytes = t.numel() * t.dtype().byteSize();
                g.writeObjectFieldStart(e.getKey());
                g.writeStringField("dtype", t.dtype().safetensorsName());
                g.writeArrayFieldStart("shape");
                for (int d : t.shape()) {
                    g.writeNumber(d);
                }
                g.writeEndArray();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                g.writeNumber(offset + bytes);
                g.writeEndArray();
                g.writeEndObject();
                offset += bytes;
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new LoaderException(file + ": cannot encode header: " + e.getMessage(), e);
        }
        return out.toByteArray();
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
