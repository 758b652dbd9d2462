package dev.jformers.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** forward, generate, tokenize, explain, inspect, convert: outputs and one-line errors. */
class CoreCommandsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    static Path testdata() {
        String p = System.getProperty("jformers.testdata");
        return p != null ? Path.of(p) : Path.of("..", "testdata");
    }

    @Test
    void forwardPrintsHuggingFacesLogits(@TempDir Path tmp) throws Exception {
        Path model = testdata().resolve("golden/bert/masked_lm");
        JsonNode golden = JSON.readTree(model.resolve("golden.json").toFile()).get("cases").get(0);
        Path in = tmp.resolve("in.json");
        Files.writeString(in, "{\"input_ids\": " + JSON.writeValueAsString(rows(golden.get("inputs").get("input_ids")))
                + ", \"token_type_ids\": " + JSON.writeValueAsString(rows(golden.get("inputs").get("token_type_ids"))) + "}");
        Path outFile = tmp.resolve("out.json");
        Run r = run("forward", "--model", model.toString(), "--input", in.toString(), "--output", outFile.toString(),
                "--backend", "scalar", "--hidden-states", "--attentions");
        assertEquals(0, r.code(), r.err());
        JsonNode out = JSON.readTree(outFile.toFile());
        JsonNode expected = golden.get("outputs").get("logits");
        assertEquals(expected.get("shape"), out.get("logits").get("shape"));
        for (int i = 0; i < expected.get("data").size(); i++) {
            double e = expected.get("data").get(i).asDouble();
            assertEquals(e, out.get("logits").get("data").get(i).asDouble(), 1e-4 + 1e-4 * Math.abs(e));
        }
        assertEquals("[3,1,9,32]", out.get("hidden_states").get("shape").toString());
        assertEquals("[2,1,4,9,9]", out.get("attentions").get("shape").toString());
    }

    @Test
    void generateReproducesHuggingFacesGreedyIds(@TempDir Path tmp) throws Exception {
        Path model = testdata().resolve("golden/gpt2/lm_head");
        JsonNode batch = JSON.readTree(model.resolve("golden.json").toFile()).get("generation").get("left_padded_batch");
        Path in = tmp.resolve("in.json");
        Files.writeString(in, "{\"input_ids\": " + JSON.writeValueAsString(rows(batch.get("input_ids")))
                + ", \"attention_mask\": " + JSON.writeValueAsString(rows(batch.get("attention_mask"))) + "}");
        Run r = run("generate", "--model", model.toString(), "--input", in.toString(), "--max-new-tokens", "10", "--greedy");
        assertEquals(0, r.code(), r.err());
        assertEquals(rows(batch.get("output_ids")).toString(), JSON.readTree(r.out()).get("sequences").toString());
    }

    @Test
    void tokenizePrintsIdsTokensAndOffsets() throws Exception {
        Path model = testdata().resolve("golden/pipelines/fill-mask-bert");
        Run r = run("tokenize", "--model", model.toString(), "Hello, world!", "naïve");
        assertEquals(0, r.code(), r.err());
        JsonNode out = JSON.readTree(r.out());
        assertEquals("[101,7592,1010,2088,999,102]", out.get(0).get("input_ids").toString());
        assertEquals("[\"[CLS]\",\"hello\",\",\",\"world\",\"!\",\"[SEP]\"]", out.get(0).get("tokens").toString());
        assertEquals("[[0,0],[0,5],[5,6],[7,12],[12,13],[0,0]]", out.get(0).get("offsets").toString());
        Run bare = run("tokenize", "--model", model.toString(), "--no-special-tokens", "naïve");
        assertEquals("[\"naive\"]", JSON.readTree(bare.out()).get(0).get("tokens").toString());
    }

    @Test
    void explainWritesHeatmaps(@TempDir Path tmp) throws Exception {
        Path model = testdata().resolve("golden/pipelines/fill-mask-bert");
        Run r = run("explain", "--model", model.toString(), "--out", tmp.toString(), "--backend", "scalar",
                "The capital of France is [MASK].");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("layer 1"), r.out());
        assertTrue(Files.size(tmp.resolve("layer00_head00.png")) > 100);
        assertTrue(Files.exists(tmp.resolve("layer01_head01.png")));
    }

    @Test
    void inspectAndConvertRoundTrip(@TempDir Path tmp) throws Exception {
        Path bin = testdata().resolve("golden/gpt2/lm_head/pytorch_model.bin");
        Run inspect = run("inspect", "--json", bin.toString());
        assertEquals(0, inspect.code(), inspect.err());
        assertEquals("pytorch-zip", JSON.readTree(inspect.out()).get("format").asText());
        Path st = tmp.resolve("model.safetensors");
        assertEquals(0, run("convert", bin.toString(), st.toString()).code());
        JsonNode converted = JSON.readTree(run("inspect", "--json", st.toString()).out());
        assertEquals(JSON.readTree(inspect.out()).get("tensors").size(), converted.get("tensors").size());
    }

    @Test
    void errorsAreOneLineWithNonZeroExit(@TempDir Path tmp) throws Exception {
        Run missing = run("forward", "--model", tmp.resolve("nope").toString(), "--input", tmp.resolve("in.json").toString());
        assertNotEquals(0, missing.code());
        assertOneLine(missing.err());
        Run unknown = run("forward", "--bogus");
        assertEquals(2, unknown.code());
        assertOneLine(unknown.err());
        Path bad = tmp.resolve("bad.json");
        Files.writeString(bad, "{\"input_ids\": [[1, 2], [3]]}");
        Run ragged = run("forward", "--model", testdata().resolve("golden/bert/base").toString(), "--input", bad.toString());
        assertEquals(1, ragged.code());
        assertTrue(ragged.err().contains("rectangular"), ragged.err());
        Run badBackend = run("forward", "--model", testdata().resolve("golden/bert/base").toString(), "--input",
                bad.toString(), "--backend", "tpu");
        assertEquals(1, badBackend.code());
        Run inspectBad = run("inspect", testdata().resolve("formats/bad/truncated.safetensors").toString());
        assertEquals(1, inspectBad.code());
        assertOneLine(inspectBad.err());
        assertTrue(inspectBad.err().contains("truncated.safetensors"), inspectBad.err());
    }

    private static void assertOneLine(String err) {
        String trimmed = err.strip();
        assertFalse(trimmed.isEmpty());
        assertEquals(1, trimmed.lines().count(), err);
        assertTrue(trimmed.startsWith("jformers: "), err);
    }

    /** golden {"shape": [B, T], "data": [...]} → [[...], ...] */
    static JsonNode rows(JsonNode t) {
        int cols = t.get("shape").get(1).asInt();
        var out = JSON.createArrayNode();
        for (int i = 0; i < t.get("data").size(); i += cols) {
            var row = out.addArray();
            for (int j = 0; j < cols; j++) {
                row.add(t.get("data").get(i + j).asLong());
            }
        }
        return out;
    }
}
