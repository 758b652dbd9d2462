package dev.jformers.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.jformers.cli.PipelineCommandsTest.dir;
import static dev.jformers.cli.PipelineCommandsTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --input-file}: one input per line (a text, or a JSON object with the pipeline's fields), one JSON line out
 * per input, equal to what the same input gives as an argument with {@code --json}; bad input is one line and the
 * right exit code, checked before any model is loaded.
 */
class InputFileTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static List<String> lines(String out) {
        return out.lines().filter(l -> !l.isBlank()).toList();
    }

    /** Equal structure and strings; scores within float rounding (a batch pads, so sums run in another order). */
    static void assertJsonClose(JsonNode expected, JsonNode actual, String what) {
        if (expected.isNumber()) {
            assertEquals(expected.asDouble(), actual.asDouble(), 1e-5, what);
            return;
        }
        assertEquals(expected.size(), actual.size(), what);
        assertEquals(expected.isContainerNode(), actual.isContainerNode(), what);
        if (!expected.isContainerNode()) {
            assertEquals(expected, actual, what);
            return;
        }
        if (expected.isArray()) {
            for (int i = 0; i < expected.size(); i++) {
                assertJsonClose(expected.get(i), actual.get(i), what + "[" + i + "]");
            }
        } else {
            expected.fieldNames().forEachRemaining(f -> assertJsonClose(expected.get(f), actual.get(f), what + "." + f));
        }
    }

    @Test
    void eachLineGivesTheJsonOfThatInputAsAnArgument(@TempDir Path tmp) throws Exception {
        String fillMask = dir("fill-mask-bert").toString();
        List<String> texts = List.of("hello [MASK] world", "the [MASK] is good", "a [MASK] b c d e f g");
        Path in = tmp.resolve("in.txt");
        Files.writeString(in, texts.get(0) + "\n\n{\"text\": \"" + texts.get(1) + "\"}\n" + texts.get(2) + "\n");
        PipelineCommandsTest.Result r = run("fill-mask", "--model", fillMask, "--batch-size", "2", "--input-file", in.toString());
        assertEquals(0, r.exit(), r.err());
        List<String> out = lines(r.out());
        assertEquals(3, out.size(), r.out());
        for (int i = 0; i < texts.size(); i++) {
            PipelineCommandsTest.Result one = run("fill-mask", "--model", fillMask, "--json", texts.get(i));
            assertJsonClose(JSON.readTree(one.out()), JSON.readTree(out.get(i)), texts.get(i));
        }

        Path qa = tmp.resolve("qa.jsonl");
        Files.writeString(qa, "{\"question\": \"Where does Sarah live?\", \"context\": \"My name is Sarah and I live in London.\"}\n"
                + "{\"question\": \"What is my name?\"}\n");
        r = run("question-answering", "--model", dir("question-answering-bert").toString(),
                "--context", "My name is Clara and I live in Berkeley.", "--input-file", qa.toString());
        assertEquals(0, r.exit(), r.err());
        List<String> answers = lines(r.out());
        assertEquals(2, answers.size(), r.out());
        JsonNode first = JSON.readTree(answers.get(0));
        assertTrue(first.has("answer") && first.has("score"), answers.get(0));
    }

    @Test
    void badInputIsOneLineWithTheRightExitCode(@TempDir Path tmp) throws Exception {
        String model = dir("fill-mask-bert").toString();
        PipelineCommandsTest.Result none = run("fill-mask", "--model", model);
        assertEquals(2, none.exit());
        assertTrue(none.err().startsWith("jformers: no TEXT given"), none.err());

        PipelineCommandsTest.Result both = run("fill-mask", "--model", model, "--input-file", "x", "a [MASK]");
        assertEquals(2, both.exit());

        PipelineCommandsTest.Result topK = run("fill-mask", "--model", "no/such-model-anywhere", "--top-k", "0", "a [MASK]");
        assertEquals(2, topK.exit(), topK.err());          // refused before the (missing) model is looked for
        assertTrue(topK.err().contains("must be at least 1, got 0"), topK.err());

        PipelineCommandsTest.Result missing = run("fill-mask", "--model", model, "--input-file", tmp.resolve("nope.txt").toString());
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("nope.txt: no such file"), missing.err());

        Path latin1 = tmp.resolve("latin1.txt");
        Files.write(latin1, "caf\u00e9 [MASK]\n".getBytes(StandardCharsets.ISO_8859_1));
        PipelineCommandsTest.Result notUtf8 = run("fill-mask", "--model", model, "--input-file", latin1.toString());
        assertEquals(1, notUtf8.exit());
        assertTrue(notUtf8.err().contains("line 1 is not valid UTF-8"), notUtf8.err());

        Path broken = tmp.resolve("broken.jsonl");
        Files.writeString(broken, "{\"text\": \"a [MASK]\"}\n{\"text\": oops}\n");
        PipelineCommandsTest.Result json = run("fill-mask", "--model", model, "--input-file", broken.toString());
        assertEquals(1, json.exit());
        assertTrue(json.err().contains("line 2, column"), json.err());
        assertEquals(1, lines(json.err()).size(), json.err());
    }

    /** text-generation reads --input-file too; --max-length cuts as HF's max_length; ner's --stride over long texts. */
    @Test
    void textGenerationInputFileTruncationAndStride(@TempDir Path tmp) throws Exception {
        Path prompts = tmp.resolve("prompts.txt");
        Files.writeString(prompts, "Hello, my name is\n{\"text\": \"Once upon a time\"}\n");
        String gpt2 = dir("text-generation-gpt2").toString();
        PipelineCommandsTest.Result gen = run("text-generation", "--model", gpt2, "--max-new-tokens", "3", "--input-file", prompts.toString());
        assertEquals(0, gen.exit(), gen.err());
        List<String> out = lines(gen.out());
        assertEquals(2, out.size(), gen.out());
        PipelineCommandsTest.Result one = run("text-generation", "--model", gpt2, "--max-new-tokens", "3", "--json", "Once upon a time");
        assertEquals(JSON.readTree(one.out()), JSON.readTree(out.get(1)));

        // [CLS] hello world [SEP]: a text cut at 4 tokens is classified as "hello world"
        String tc = dir("text-classification-bert").toString();
        PipelineCommandsTest.Result cut = run("text-classification", "--model", tc, "--max-length", "4", "--json", "hello world and more words");
        PipelineCommandsTest.Result shortText = run("text-classification", "--model", tc, "--json", "hello world");
        assertEquals(0, cut.exit(), cut.err());
        assertJsonClose(JSON.readTree(shortText.out()), JSON.readTree(cut.out()), "truncated");
        PipelineCommandsTest.Result zero = run("fill-mask", "--model", "no/such-model-anywhere", "--max-length", "0", "a [MASK]");
        assertEquals(2, zero.exit(), zero.err());

        String ner = dir("token-classification-bert").toString();
        String text = "My name is Wolfgang and I live in Berlin. Sarah Johnson-Smith flew from Reykjavik to Ouagadougou.";
        Path texts = tmp.resolve("texts.txt");
        Files.writeString(texts, text + "\n");
        PipelineCommandsTest.Result strided = run("ner", "--model", ner, "--aggregation-strategy", "first", "--stride", "4",
                "--max-length", "16", "--ignore-labels=", "--input-file", texts.toString());
        assertEquals(0, strided.exit(), strided.err());
        JsonNode entities = JSON.readTree(lines(strided.out()).getFirst());
        assertEquals(text.length(), entities.get(entities.size() - 1).get("end").asInt(), strided.out());
        PipelineCommandsTest.Result noAggregation = run("ner", "--model", "no/such-model-anywhere", "--stride", "4", text);
        assertEquals(2, noAggregation.exit(), noAggregation.err());
        assertEquals(1, lines(noAggregation.err()).size(), noAggregation.err());
        assertTrue(noAggregation.err().contains("aggregation_strategy"), noAggregation.err());
    }

    @Test
    void noArgumentsAndUnknownCommandsAreUsageErrors() {
        PipelineCommandsTest.Result none = run();
        assertEquals(2, none.exit());
        PipelineCommandsTest.Result typo = run("fill-mas", "a [MASK]");
        assertEquals(2, typo.exit());
        assertEquals(1, lines(typo.err()).size(), typo.err());
        assertTrue(typo.err().contains("did you mean fill-mask?") && typo.err().contains("feature-extraction"), typo.err());
        PipelineCommandsTest.Result threads = run("fill-mask", "--model", "no/such-model-anywhere", "--threads", "100000", "a [MASK]");
        assertEquals(2, threads.exit(), threads.err());
        assertTrue(threads.err().contains("cores"), threads.err());
    }

    @Test
    void convertRefusesAnExistingFolderBeforeReadingAnything(@TempDir Path tmp) throws Exception {
        PipelineCommandsTest.Result r = run("convert", dir("fill-mask-bert").toString(), tmp.toString());
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("is a folder"), r.err());
        try (var left = Files.list(tmp)) {
            assertEquals(0, left.count(), "nothing written");
        }
    }

    @Test
    void forwardTakesAModelFolderOrId(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("in.json");
        Files.writeString(in, "{\"input_ids\": [[2, 7, 9, 3]]}");
        PipelineCommandsTest.Result r = run("forward", "--model", dir("fill-mask-bert").toString(), "--input", in.toString());
        assertEquals(0, r.exit(), r.err());
        PipelineCommandsTest.Result unknown = run("forward", "--model", "no-such-org/no-such-model", "--input", in.toString());
        assertEquals(1, unknown.exit());
        assertTrue(unknown.err().contains("'no-such-org/no-such-model' cannot be found"), unknown.err());
    }
}
