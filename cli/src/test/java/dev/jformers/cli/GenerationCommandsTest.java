package dev.jformers.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.jformers.cli.CoreCommandsTest.run;
import static dev.jformers.cli.CoreCommandsTest.testdata;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every golden generate case (testdata/golden-generation) from the command line with its kwargs as
 * {@code --kebab-name=VALUE} flags: the same sequences and sequences_scores as HF, and HF's errors as one line with
 * exit 1; text-generation with beams prints HF's pipeline structure.
 */
class GenerationCommandsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path GOLDEN = testdata().resolve("golden-generation");

    /** A kwarg as the CLI takes it: lists comma-separated, bad_words_ids as JSON, booleans and "never" as words. */
    static String flag(String name, JsonNode v) {
        String value;
        if (name.equals("bad_words_ids")) {
            value = v.toString();
        } else if (v.isArray()) {
            List<String> parts = new ArrayList<>();
            v.forEach(x -> parts.add(x.asText()));
            value = String.join(",", parts);
        } else {
            value = v.asText();
        }
        return "--" + name.replace('_', '-') + "=" + value;
    }

    @TestFactory
    Stream<DynamicTest> everyGoldenCaseFromTheCommandLine(@TempDir Path tmp) throws Exception {
        JsonNode golden = JSON.readTree(GOLDEN.resolve("golden.json").toFile());
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : golden.get("cases")) {
            tests.add(DynamicTest.dynamicTest(c.get("name").asText(), () -> {
                Path in = tmp.resolve(c.get("name").asText() + ".json");
                Files.writeString(in, "{\"input_ids\": " + CoreCommandsTest.rows(c.get("inputs").get("input_ids"))
                        + ", \"attention_mask\": " + CoreCommandsTest.rows(c.get("inputs").get("attention_mask")) + "}");
                List<String> args = new ArrayList<>(List.of("generate", "--model", GOLDEN.resolve(c.get("model").asText()).toString(),
                        "--input", in.toString()));
                for (Iterator<Map.Entry<String, JsonNode>> it = c.get("generate_kwargs").properties().iterator(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    args.add(flag(e.getKey(), e.getValue()));
                }
                CoreCommandsTest.Run r = run(args.toArray(String[]::new));
                if (c.has("error")) {
                    assertEquals(1, r.code(), r.out());
                    assertTrue(r.err().startsWith("jformers: ") && r.err().strip().lines().count() == 1, r.err());
                    return;
                }
                assertEquals(0, r.code(), r.err());
                JsonNode out = JSON.readTree(r.out());
                assertEquals(CoreCommandsTest.rows(c.get("outputs").get("sequences")).toString(), out.get("sequences").toString());
                JsonNode scores = c.get("outputs").get("sequences_scores");
                assertEquals(scores != null, out.has("sequences_scores"));
                if (scores != null) {
                    for (int i = 0; i < scores.get("data").size(); i++) {
                        assertEquals(scores.get("data").get(i).asDouble(), out.get("sequences_scores").get(i).asDouble(), 1e-4);
                    }
                }
            }));
        }
        return tests.stream();
    }

    @Test
    void badValuesAreUsageErrorsAndUnimplementedFieldsRuntimeErrors(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("in.json");
        Files.writeString(in, "{\"input_ids\": [[1, 2, 3]]}");
        String model = GOLDEN.resolve("tiny-gpt2").toString();
        CoreCommandsTest.Run bad = run("generate", "--model", model, "--input", in.toString(), "--num-beams=four");
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().contains("--num-beams"), bad.err());
        CoreCommandsTest.Run refused = run("generate", "--model", model, "--input", in.toString(), "--num-beam-groups=2");
        assertEquals(1, refused.code(), refused.err());
        assertTrue(refused.err().contains("num_beam_groups"), refused.err());
        CoreCommandsTest.Run greedyBeams = run("generate", "--model", model, "--input", in.toString(), "--num-return-sequences=2");
        assertEquals(1, greedyBeams.code());
        assertTrue(greedyBeams.err().contains("num_return_sequences"), greedyBeams.err());
    }

    @Test
    void textGenerationWithBeamsPrintsTwoSequencesInHuggingFacesStructure() throws Exception {
        JsonNode golden = JSON.readTree(GOLDEN.resolve("golden.json").toFile());
        JsonNode call = null;
        for (JsonNode c : golden.get("pipeline").get("calls")) {
            if (c.get("name").asText().equals("beams_num_return_sequences_2")) {
                call = c;
            }
        }
        CoreCommandsTest.Run r = run("text-generation", "--model", GOLDEN.resolve("tiny-gpt2").toString(), "--num-beams", "4",
                "--num-return-sequences", "2", "--max-new-tokens", "10", "--json", call.get("inputs").asText());
        assertEquals(0, r.code(), r.err());
        assertEquals(call.get("output"), JSON.readTree(r.out()));
        CoreCommandsTest.Run plain = run("text-generation", "--model", GOLDEN.resolve("tiny-gpt2").toString(), "--num-beams", "4",
                "--num-return-sequences", "2", "--no-repeat-ngram-size", "2", "--max-new-tokens", "10", call.get("inputs").asText());
        assertEquals(0, plain.code(), plain.err());
        assertEquals(2, plain.out().strip().lines().count(), plain.out());
    }
}
