package dev.jformers.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.tokenizers.HfTokenizer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The pipeline commands against HF's goldens (testdata/golden/pipelines): each call's keyword arguments become
 * kebab-case options ({@code top_k=3} → {@code --top-k=3}), and {@code --json} must print HF's structure.
 * The slow-tokenizer differences documented in the models module's pipeline tests apply here too (NER words get
 * the fast decoder's clean-up; QA answers lose the punctuation the slow path glues to the last word); calls that
 * exist only on HF's slow path (NER without offsets or with its slow-only error) are left to those tests.
 */
class PipelineCommandsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    record Result(int exit, String out, String err) {
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    static Path dir(String folder) {
        String p = System.getProperty("jformers.testdata");
        Path d = (p != null ? Path.of(p) : Path.of("..", "testdata")).resolve("golden").resolve("pipelines").resolve(folder);
        if (!Files.isDirectory(d)) {
            fail("pipeline test data not found at " + d.toAbsolutePath());
        }
        return d;
    }

    static JsonNode golden(String folder) {
        try {
            return JSON.readTree(dir(folder).resolve("golden.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final Map<String, String> COMMANDS = Map.of(
            "fill-mask-bert", "fill-mask",
            "fill-mask-roberta", "fill-mask",
            "text-classification-bert", "sentiment-analysis",
            "text-classification-bert-multilabel", "text-classification",
            "token-classification-bert", "ner",
            "question-answering-bert", "question-answering",
            "text-generation-gpt2", "text-generation",
            "feature-extraction-bert", "embed");

    @TestFactory
    Stream<DynamicTest> goldenCallsThroughTheCli() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Map.Entry<String, String> e : COMMANDS.entrySet()) {
            String folder = e.getKey();
            for (JsonNode call : golden(folder).get("calls")) {
                String name = call.get("name").asText();
                boolean ner = folder.startsWith("token");
                if (ner && !name.endsWith("_emulated_fast")) {
                    continue; // slow-path-only calls (no offsets / slow error): see the models module's tests
                }
                if (folder.startsWith("question") && name.startsWith("long_len64")) {
                    continue; // several windows, cut differently by the slow path: see the models module's tests
                }
                tests.add(DynamicTest.dynamicTest(folder + " " + name, () -> {
                    List<String> args = args(e.getValue(), folder, call);
                    Result r = run(args.toArray(String[]::new));
                    assertEquals(0, r.exit(), r.err());
                    JsonNode expected = call.get("output");
                    if (ner) {
                        expected = cleanWords(expected);
                    } else if (folder.startsWith("question")) {
                        expected = slowAnswersToFast(expected);
                    }
                    assertClose(expected, JSON.readTree(r.out()), folder.startsWith("feature") ? 1e-5 : 1e-9, "$");
                }));
            }
        }
        return tests.stream();
    }

    /** The command line for one golden call: kwargs as --kebab-case=VALUE, inputs as positionals after "--". */
    static List<String> args(String command, String folder, JsonNode call) {
        List<String> args = new ArrayList<>(List.of(command, "--model", dir(folder).toString(), "--json", "--backend", "scalar"));
        List<String> positionals = new ArrayList<>();
        JsonNode kw = call.has("call_kwargs") ? call.get("call_kwargs") : JsonNodeFactory.instance.objectNode();
        if (call.get("name").asText().endsWith("_emulated_fast")) {
            String strategy = call.get("name").asText().replaceAll("^s\\d+_", "").replace("_emulated_fast", "");
            args.add("--aggregation-strategy=" + strategy);
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = kw.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String key = f.getKey();
            JsonNode v = f.getValue();
            if (key.equals("question")) {
                positionals.add(v.asText());
            } else if (key.equals("return_tensors") && folder.startsWith("feature")) {
                // HF returns a tensor instead of lists: same numbers, so the default output is compared
            } else if (v.isArray()) {
                List<String> items = new ArrayList<>();
                v.forEach(x -> items.add(x.asText()));
                args.add("--" + key.replace('_', '-') + "=" + String.join(",", items));
            } else {
                args.add("--" + key.replace('_', '-') + "=" + (v.isNull() ? "none" : v.asText()));
            }
        }
        for (JsonNode input : call.get("inputs")) {
            if (input.isArray()) {
                input.forEach(t -> positionals.add(t.asText()));
            } else if (input.isObject()) {
                positionals.add(input.get("text").asText());
                args.add("--text-pair=" + input.get("text_pair").asText());
            } else {
                positionals.add(input.asText());
            }
        }
        args.add("--");
        args.addAll(positionals);
        return args;
    }

    private static JsonNode cleanWords(JsonNode entities) {
        ArrayNode out = entities.deepCopy();
        out.forEach(e -> ((ObjectNode) e).put("word", HfTokenizer.cleanUpTokenization(e.get("word").asText())));
        return out;
    }

    /** The slow path glues punctuation to the last word of an answer; the fast path cuts before it. */
    private static JsonNode slowAnswersToFast(JsonNode output) {
        JsonNode copy = output.deepCopy();
        for (JsonNode a : copy.isArray() ? copy : JsonNodeFactory.instance.arrayNode().add(copy)) {
            String fast = a.get("answer").asText().replaceAll("\\p{Punct}+$", "");
            if (!fast.isEmpty()) {
                ((ObjectNode) a).put("end", a.get("start").asInt() + fast.length());
            }
            ((ObjectNode) a).put("answer", fast);
        }
        return copy;
    }

    /** Same structure and keys, equal strings and integers, floats within 1e-5 relative + {@code abs}. */
    static void assertClose(JsonNode e, JsonNode a, double abs, String path) {
        if (e.isFloatingPointNumber()) {
            assertTrue(a.isNumber(), path + ": " + a);
            assertTrue(Math.abs(e.asDouble() - a.asDouble()) <= 1e-5 * Math.abs(e.asDouble()) + abs,
                    path + ": expected " + e + ", got " + a);
        } else if (e.isIntegralNumber()) {
            assertTrue(a.isIntegralNumber(), path + ": " + a);
            assertEquals(e.asLong(), a.asLong(), path);
        } else if (e.isArray()) {
            assertTrue(a.isArray(), path + ": expected an array, got " + a);
            assertEquals(e.size(), a.size(), path + ": length");
            for (int i = 0; i < e.size(); i++) {
                assertClose(e.get(i), a.get(i), abs, path + "[" + i + "]");
            }
        } else if (e.isObject()) {
            assertTrue(a.isObject(), path + ": expected an object, got " + a);
            List<String> ek = new ArrayList<>();
            e.fieldNames().forEachRemaining(ek::add);
            List<String> ak = new ArrayList<>();
            a.fieldNames().forEachRemaining(ak::add);
            assertEquals(ek, ak, path + ": keys");
            for (String k : ek) {
                assertClose(e.get(k), a.get(k), abs, path + "." + k);
            }
        } else {
            assertEquals(e, a, path);
        }
    }

    // ---------------------------------------------------------------- readable output, streaming, options

    @Test
    void tablesWithoutJson() {
        Result r = run("sentiment-analysis", "--model", dir("text-classification-bert").toString(), "--top-k=none", "Okay.");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("neutral") && r.out().contains("negative") && r.out().contains("positive"), r.out());

        r = run("ner", "--model", dir("token-classification-bert").toString(), "--aggregation-strategy=simple",
                "My name is Wolfgang and I live in Berlin.");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("wolfgang") && r.out().contains("LOC"), r.out());

        r = run("question-answering", "--model", dir("question-answering-bert").toString(),
                "--context=My name is Sarah and I live in London.", "--top-k=2", "Where does Sarah live?");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("My") && r.out().contains("score"), r.out());

        r = run("fill-mask", "--model", dir("fill-mask-bert").toString(), "--top-k=2", "The capital of France is [MASK].");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("the capital of france is fetal."), r.out());

        r = run("embed", "--model", dir("feature-extraction-bert").toString(), "--pooling=mean", "--normalize", "Hello world!");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("[16]"), r.out());
    }

    @Test
    void textGenerationStreamsTheFullText() throws IOException {
        JsonNode call = golden("text-generation-gpt2").get("calls").get(0); // p0_full_text, greedy, 8 new tokens
        Result r = run("text-generation", "--model", dir("text-generation-gpt2").toString(), "--max-new-tokens=8",
                "--do-sample=false", "Hello, my name is");
        assertEquals(0, r.exit(), r.err());
        assertEquals(call.get("output").get(0).get("generated_text").asText() + System.lineSeparator(), r.out());
    }

    /**
     * --weights bf16 / int8 round the tiny model's weights: greedy decoding still runs and, on this model, gives
     * Hugging Face's float32 text (its logits' top two are far enough apart); bad values are one-line errors.
     */
    @Test
    void bf16WeightsForGeneration() throws IOException {
        Result r = run("text-generation", "--model", dir("text-generation-gpt2").toString(), "--max-new-tokens=8",
                "--do-sample=false", "--weights=bf16", "--backend=cpu", "Hello, my name is");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("Hello, my name is"), r.out());
        Result int8 = run("text-generation", "--model", dir("text-generation-gpt2").toString(), "--max-new-tokens=8",
                "--do-sample=false", "--weights=int8", "--backend=cpu", "Hello, my name is");
        assertEquals(0, int8.exit(), int8.err());
        JsonNode call = golden("text-generation-gpt2").get("calls").get(0); // p0_full_text, greedy, 8 new tokens
        assertEquals(call.get("output").get(0).get("generated_text").asText() + System.lineSeparator(), int8.out());
        Result bad = run("text-generation", "--model", dir("text-generation-gpt2").toString(), "--weights=int4", "Hello");
        assertEquals(2, bad.exit(), bad.out());
        assertTrue(bad.err().contains("--weights must be f32, bf16 or int8, got 'int4'"), "out: " + bad.out() + " err: " + bad.err());
        Result scalar = run("text-generation", "--model", dir("text-generation-gpt2").toString(), "--weights=bf16",
                "--backend=scalar", "Hello");
        assertEquals(2, scalar.exit(), scalar.out());
        assertTrue(scalar.err().contains("--weights bf16 needs the cpu backend"), scalar.err());
        Result threads = run("text-generation", "--model", dir("text-generation-gpt2").toString(), "--threads=-1", "Hello");
        assertEquals(2, threads.exit(), threads.out());
        assertTrue(threads.err().startsWith("jformers: --threads must be ≥ 0, got -1"), threads.err());   // on this command's stderr
    }

    @Test
    void pooledEmbeddingsAsJson() throws IOException {
        Result r = run("feature-extraction", "--model", dir("feature-extraction-bert").toString(), "--json", "--pooling=cls",
                "--normalize=true", "Hello world!", "Feature extraction returns one vector per token.");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = JSON.readTree(r.out());
        assertEquals(2, j.size());
        double n = 0;
        for (JsonNode x : j.get(0)) n += x.asDouble() * x.asDouble();
        assertEquals(1.0, n, 1e-5);
    }

    @Test
    void doubleDashLetsATextStartWithADash() throws IOException {
        Result r = run("fill-mask", "--model", dir("fill-mask-bert").toString(), "--json", "--top-k=1", "--", "-[MASK]- is here");
        assertEquals(0, r.exit(), r.err());
        assertEquals(1, JSON.readTree(r.out()).size());
    }

    @Test
    void ignoreLabelsEmptyKeepsEverything() throws IOException {
        Result r = run("ner", "--model", dir("token-classification-bert").toString(), "--json", "--ignore-labels=",
                "My name is Wolfgang and I live in Berlin.");
        assertEquals(0, r.exit(), r.err());
        assertEquals(10, JSON.readTree(r.out()).size()); // every word piece of the text
    }

    @Test
    void everyCommandHasHelp() {
        for (String c : List.of("fill-mask", "text-classification", "sentiment-analysis", "token-classification", "ner",
                "question-answering", "text-generation", "feature-extraction", "embed")) {
            Result r = run(c, "--help");
            assertEquals(0, r.exit(), c + ": " + r.err());
            assertTrue(r.out().contains("Usage:") && r.out().contains("--model"), c + ": " + r.out());
        }
    }

    // ---------------------------------------------------------------- errors: one line, non-zero exit

    private static void assertOneLineError(Result r, String contains) {
        assertNotEquals(0, r.exit());
        String[] lines = r.err().strip().split("\\R");
        assertEquals(1, lines.length, r.err());
        assertTrue(lines[0].startsWith("jformers: ") && lines[0].contains(contains), r.err());
    }

    @Test
    void unknownOption() {
        Result r = run("fill-mask", "--model", dir("fill-mask-bert").toString(), "--top-kk=3", "Hello [MASK].");
        assertEquals(2, r.exit());
        assertOneLineError(r, "--top-kk");
    }

    @Test
    void missingText() {
        Result r = run("ner", "--model", dir("token-classification-bert").toString());
        assertEquals(2, r.exit());
        assertOneLineError(r, "TEXT");
    }

    @Test
    void missingContext() {
        Result r = run("question-answering", "--model", dir("question-answering-bert").toString(), "Who?");
        assertOneLineError(r, "--context");
    }

    @Test
    void badModelPath() {
        Result r = run("sentiment-analysis", "--model", "/no/such/model/folder", "Okay.");
        assertEquals(1, r.exit());
        assertOneLineError(r, "/no/such/model/folder");
    }

    @Test
    void textWithoutMask() {
        Result r = run("fill-mask", "--model", dir("fill-mask-bert").toString(), "No mask here.");
        assertEquals(1, r.exit());
        assertOneLineError(r, "No mask_token ([MASK]) found on the input");
    }

    @Test
    void badOptionValues() {
        assertOneLineError(run("ner", "--model", dir("token-classification-bert").toString(),
                "--aggregation-strategy=loudest", "Hi."), "aggregation_strategy");
        assertOneLineError(run("sentiment-analysis", "--model", dir("text-classification-bert").toString(),
                "--function-to-apply=tanh", "Hi."), "function_to_apply");
        assertOneLineError(run("question-answering", "--model", dir("question-answering-bert").toString(),
                "--context=Some text.", "--top-k=0", "Who?"), "top_k");
    }
}
