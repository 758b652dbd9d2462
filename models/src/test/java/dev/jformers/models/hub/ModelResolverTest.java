package dev.jformers.models.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;
import dev.jformers.loaders.hub.DownloadProgress;
import dev.jformers.loaders.hub.HubClient;
import dev.jformers.models.AutoModelForMaskedLM;
import dev.jformers.models.ModelInput;
import dev.jformers.models.PreTrainedModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class ModelResolverTest {
    static final String COMMIT = "5f2b6a1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a";

    @TempDir
    Path cache;

    static Path testdata() {
        String p = System.getProperty("jformers.testdata");
        Path dir = p != null ? Path.of(p) : Path.of("..", "testdata");
        if (!Files.isDirectory(dir)) {
            fail("test data not found at " + dir.toAbsolutePath());
        }
        return dir;
    }

    static String hex(String algorithm, byte[]... parts) throws Exception {
        MessageDigest md = MessageDigest.getInstance(algorithm);
        for (byte[] p : parts) {
            md.update(p);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** Writes bert/masked_lm into {@code cache} exactly as huggingface_hub lays out a download of {@code repoId}. */
    static Path pythonCache(Path cache, String repoId) throws Exception {
        Path src = testdata().resolve("golden/bert/masked_lm");
        Path repo = cache.resolve("models--" + repoId.replace("/", "--"));
        Path snap = Files.createDirectories(repo.resolve("snapshots").resolve(COMMIT));
        Files.createDirectories(repo.resolve("blobs"));
        for (String f : new String[] {"config.json", "model.safetensors"}) {
            byte[] data = Files.readAllBytes(src.resolve(f));
            String etag = f.endsWith(".safetensors") ? hex("SHA-256", data)
                    : hex("SHA-1", ("blob " + data.length + "\0").getBytes(), data);
            Files.write(repo.resolve("blobs").resolve(etag), data);
            Files.createSymbolicLink(snap.resolve(f), Path.of("../../blobs/" + etag));
        }
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), COMMIT);
        return snap;
    }

    @Test
    void resolvesAnIdFromTheHfCacheAndMatchesHuggingFace() throws Exception {
        Path snap = pythonCache(cache, "test-org/tiny-bert-mlm");
        HubClient offline = HubClient.builder().cacheDir(cache).offline(true).build();
        Path dir = ModelResolver.resolve("test-org/tiny-bert-mlm", null, offline);
        assertEquals(snap, dir);

        PreTrainedModel model = AutoModelForMaskedLM.fromPretrained(dir);
        JsonNode golden = new ObjectMapper().readTree(testdata().resolve("golden/bert/masked_lm/golden.json").toFile());
        JsonNode single = null;
        for (JsonNode c : golden.get("cases")) {
            if (c.get("name").asText().equals("single")) {
                single = c;
            }
        }
        assertTrue(single != null, "golden.json has a 'single' case");
        JsonNode in = single.get("inputs");
        ModelInput input = new ModelInput(longs(in.get("input_ids")), longs(in.get("attention_mask")),
                longs(in.get("token_type_ids")), null, false, false);
        Tensor logits = model.forward(input).logits();
        JsonNode expected = single.get("outputs").get("logits");
        assertArrayEquals(shape(expected), logits.shape());
        float[] actual = logits.toFloatArray();
        JsonNode data = expected.get("data");
        assertEquals(data.size(), actual.length);
        for (int i = 0; i < actual.length; i++) {
            double e = data.get(i).asDouble();
            assertTrue(Math.abs(actual[i] - e) <= 1e-4 + 1e-4 * Math.abs(e), "logits[" + i + "] = " + actual[i] + ", HF gives " + e);
        }
    }

    @Test
    void theCacheDirectoryCanBeGivenAsASystemProperty() throws Exception {
        Path snap = pythonCache(cache, "test-org/tiny-bert-mlm");
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        System.setProperty("jformers.hf.cache", cache.toString());
        System.setProperty("jformers.hf.endpoint", "http://127.0.0.1:" + closedPort);   // a Hub that is down: refs/main answers
        try {
            assertEquals(snap, ModelResolver.resolve("test-org/tiny-bert-mlm"));
            assertEquals(snap, ModelResolver.resolve("test-org/tiny-bert-mlm", COMMIT));
        } finally {
            System.clearProperty("jformers.hf.cache");
            System.clearProperty("jformers.hf.endpoint");
        }
    }

    @Test
    void aLocalFolderComesFirst() {
        Path dir = testdata().resolve("golden/bert/masked_lm");
        assertEquals(dir, ModelResolver.resolve(dir.toString()));
    }

    @Test
    void oneLineErrorNamingWhatWasTried() throws IOException {
        HubClient offline = HubClient.builder().cacheDir(cache).offline(true).progress(DownloadProgress.silent()).build();
        JformersException e = assertThrows(JformersException.class, () -> ModelResolver.resolve("nobody/nothing", null, offline));
        String m = e.getMessage();
        assertTrue(m.startsWith("model 'nobody/nothing' cannot be found: no folder "), m);
        assertTrue(m.contains("Hugging Face Hub: offline mode"), m);
        assertTrue(m.contains("no Maven artifact carries it"), m);
        assertTrue(m.endsWith("or give a model folder (config.json, weights, tokenizer files)"), m);
        assertFalse(m.contains("\n"));

        e = assertThrows(JformersException.class, () -> ModelResolver.resolve("./no/such/folder", null, offline));
        assertTrue(e.getMessage().contains("not a Hugging Face model id"), e.getMessage());
        assertThrows(JformersException.class, () -> ModelResolver.resolve(" ", null, offline));
    }

    static Tensor longs(JsonNode t) {
        JsonNode data = t.get("data");
        long[] v = new long[data.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = data.get(i).asLong();
        }
        return Tensor.ofLongs(v, shape(t));
    }

    static int[] shape(JsonNode t) {
        int[] s = new int[t.get("shape").size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = t.get("shape").get(i).asInt();
        }
        return s;
    }
}
