package dev.jformers.loaders;

import dev.jformers.core.DType;
import dev.jformers.core.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A one-off measurement, not a unit test: writes a BERT-base-sized safetensors file (about
 * 440 MB) and times opening it and getting every tensor (zero-copy views of the mapping).
 * Run: java -cp target/classes:target/test-classes:CLASSPATH dev.jformers.loaders.SafetensorsOpenTiming [file]
 */
public final class SafetensorsOpenTiming {
    private SafetensorsOpenTiming() {
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args.length > 0 ? args[0] : "/tmp/jformers-bert-base.safetensors");
        if (!Files.exists(file)) {
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("bert.embeddings.word_embeddings.weight", Tensor.zeros(DType.F32, 30522, 768));
            t.put("bert.embeddings.position_embeddings.weight", Tensor.zeros(DType.F32, 512, 768));
            t.put("bert.embeddings.token_type_embeddings.weight", Tensor.zeros(DType.F32, 2, 768));
            for (int i = 0; i < 12; i++) {
                String l = "bert.encoder.layer." + i + ".";
                for (String p : new String[] {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
                    t.put(l + p + ".weight", Tensor.zeros(DType.F32, 768, 768));
                    t.put(l + p + ".bias", Tensor.zeros(DType.F32, 768));
                }
                t.put(l + "intermediate.dense.weight", Tensor.zeros(DType.F32, 3072, 768));
                t.put(l + "intermediate.dense.bias", Tensor.zeros(DType.F32, 3072));
                t.put(l + "output.dense.weight", Tensor.zeros(DType.F32, 768, 3072));
                t.put(l + "output.dense.bias", Tensor.zeros(DType.F32, 768));
                for (String ln : new String[] {"attention.output.LayerNorm", "output.LayerNorm"}) {
                    t.put(l + ln + ".weight", Tensor.full(1f, 768));
                    t.put(l + ln + ".bias", Tensor.zeros(DType.F32, 768));
                }
            }
            t.put("bert.pooler.dense.weight", Tensor.zeros(DType.F32, 768, 768));
            t.put("bert.pooler.dense.bias", Tensor.zeros(DType.F32, 768));
            long w0 = System.nanoTime();
            SafetensorsWriter.write(t, Map.of("format", "pt"), file);
            System.out.printf("wrote %s (%d MB) in %d ms%n", file, Files.size(file) >> 20, (System.nanoTime() - w0) / 1_000_000);
        }
        if (args.length > 1) {
            // Class loading and first-use costs (Jackson, FFM) measured on a small file, apart from the big one.
            long c0 = System.nanoTime();
            try (SafetensorsFile f = SafetensorsFile.open(Path.of(args[1]))) {
                f.getAll();
            }
            System.out.printf("first open of a small file (class loading): %.2f ms%n", (System.nanoTime() - c0) / 1e6);
        }
        for (int run = 0; run < 5; run++) {
            long t0 = System.nanoTime();
            int n = 0;
            long bytes = 0;
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                for (Tensor x : f.getAll().values()) {
                    n++;
                    bytes += x.numel() * x.dtype().byteSize();
                }
                long t1 = System.nanoTime();
                System.out.printf("run %d: open + get all %d tensors (%d MB) in %.2f ms%n", run, n, bytes >> 20, (t1 - t0) / 1e6);
            }
        }
    }
}
