package dev.jformers.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.models.AutoModelForCausalLM;
import dev.jformers.models.CausalLM;
import dev.jformers.models.generation.GenerationConfig;
import dev.jformers.models.generation.Generator;
import dev.jformers.models.generation.GoldenGeneration;
import dev.jformers.tokenizers.AutoTokenizer;
import dev.jformers.tokenizers.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.jformers.pipelines.PipelineGolden.toJson;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * HF 4.28's text-generation pipeline calls of testdata/golden-generation (tiny GPT-2 with GPT-2's real BPE
 * vocabulary): prefix (and its max_length adjustment), stop_sequence, eos lists, beams with num_return_sequences,
 * return_full_text, clean_up_tokenization_spaces, task_specific_params; the text and the ids exactly.
 */
class TextGenerationGoldenTest {
    static Backend backend;
    static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        backend = Backends.create("cpu", 2);
        tokenizer = AutoTokenizer.fromPretrained(GoldenGeneration.dir().resolve("tiny-gpt2"));
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    /** HF's {@code pipeline("text-generation", model=folder, tokenizer="tiny-gpt2")}. */
    static TextGenerationPipeline pipeline(String folder) {
        Path dir = GoldenGeneration.dir().resolve(folder);
        return new TextGenerationPipeline(dir, (CausalLM) AutoModelForCausalLM.fromPretrained(dir, backend), tokenizer);
    }

    /** The call's kwargs: the pipeline's own as options, the rest as generate arguments. */
    static TextGenerationPipeline.Options options(JsonNode kwargs) {
        ObjectNode generate = ((ObjectNode) kwargs).deepCopy();
        TextGenerationPipeline.Options o = TextGenerationPipeline.Options.defaults();
        if (generate.has("return_full_text")) {
            o = o.withReturnFullText(generate.remove("return_full_text").asBoolean());
        }
        if (generate.has("clean_up_tokenization_spaces")) {
            o = o.withCleanUpTokenizationSpaces(generate.remove("clean_up_tokenization_spaces").asBoolean());
        }
        if (generate.has("prefix")) {
            o = o.withPrefix(generate.remove("prefix").asText());
        }
        if (generate.has("stop_sequence")) {
            o = o.withStopSequence(generate.remove("stop_sequence").asText());
        }
        return o.withAll(generate);
    }

    @TestFactory
    Stream<DynamicTest> everyCallAsHuggingFace() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode call : GoldenGeneration.golden().get("pipeline").get("calls")) {
            tests.add(DynamicTest.dynamicTest(call.get("name").asText(), () -> {
                String folder = call.get("pipeline").asText().contains("tiny-gpt2-legacy-config") ? "tiny-gpt2-legacy-config" : "tiny-gpt2";
                try (TextGenerationPipeline p = pipeline(folder)) {
                    TextGenerationPipeline.Options o = options(call.get("call_kwargs"));
                    JsonNode inputs = call.get("inputs");
                    Object got = inputs.isArray()
                            ? p.call(List.of(inputs.get(0).asText(), inputs.get(1).asText()), o)
                            : p.call(inputs.asText(), o);
                    assertEquals(call.get("output"), toJson(got), call.get("call").asText());
                    if (call.has("generated_token_ids")) {
                        TextGenerationPipeline.Options t = o.withReturnTensors(true);
                        Object ids = inputs.isArray()
                                ? p.call(List.of(inputs.get(0).asText(), inputs.get(1).asText()), t)
                                : p.call(inputs.asText(), t);
                        assertEquals(call.get("generated_token_ids").toString(), toJson(ids).toString(), call.get("call").asText() + " (ids)");
                    }
                }
            }));
        }
        return tests.stream();
    }

    @Test
    void handleLongGenerationHoleKeepsThePromptsEnd(@TempDir Path tmp) throws Exception {
        assertThrows(PipelineException.class, () -> TextGenerationPipeline.Options.defaults().withHandleLongGeneration("cut"));
        // a tokenizer with model_max_length 16: prompt (20 ids) + 4 new tokens must keep the prompt's last 12 ids
        Path src = GoldenGeneration.dir().resolve("tiny-gpt2");
        for (String f : List.of("vocab.json", "merges.txt")) {
            Files.copy(src.resolve(f), tmp.resolve(f));
        }
        Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"model_max_length\": 16, \"tokenizer_class\": \"GPT2Tokenizer\"}");
        Tokenizer small = AutoTokenizer.fromPretrained(tmp);
        assertEquals(16, small.modelMaxLength());
        try (TextGenerationPipeline p = new TextGenerationPipeline(src,
                (CausalLM) AutoModelForCausalLM.fromPretrained(src, backend), small)) {
            String prompt = "In the end, it is what it is. In the end, it is what it is.";
            TextGenerationPipeline.Options o = TextGenerationPipeline.Options.defaults().withMaxNewTokens(4).withReturnTensors(true);
            long[] whole = ((TextGenerationPipeline.GeneratedTokenIds) p.call(prompt, o).get(0)).generatedTokenIds();
            assertEquals(20 + 4, whole.length);
            long[] hole = ((TextGenerationPipeline.GeneratedTokenIds) p.call(prompt, o.withHandleLongGeneration("hole")).get(0))
                    .generatedTokenIds();
            assertEquals(16, hole.length);
            long[] kept = Arrays.copyOfRange(whole, 8, 20);
            assertArrayEquals(kept, Arrays.copyOf(hole, 12));
            long[] direct = new Generator(p.lm()).generate(kept, GenerationConfig.greedy(4, 999), null);
            assertArrayEquals(direct, hole);
        }
    }
}
