package dev.jformers.models.generation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.models.AutoModelForCausalLM;
import dev.jformers.models.CausalLM;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every {@code generate} case of testdata/golden-generation (HF 4.28 on tiny GPT-2, BERT-LM-head and
 * RoBERTa-causal-LM models), on the scalar and the SIMD backend: token ids exactly, sequences_scores within 1e-4,
 * the configuration generate used (file, config.json, kwargs) field by field, and HF's errors as errors.
 */
class GoldenGenerateTest {
    static final double SCORE_TOL = 1e-4;
    static Backend scalar;
    static Backend simd;
    static final Map<String, CausalLM> models = new HashMap<>();

    @BeforeAll
    static void backends() {
        scalar = Backends.create("scalar");
        simd = Backends.create("cpu", 2);
    }

    @AfterAll
    static void close() {
        scalar.close();
        simd.close();
    }

    static synchronized CausalLM model(String folder, String backend) {
        return models.computeIfAbsent(folder + "@" + backend, k -> (CausalLM) AutoModelForCausalLM.fromPretrained(
                GoldenGeneration.dir().resolve(folder), backend.equals("scalar") ? scalar : simd));
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : GoldenGeneration.golden().get("cases")) {
            for (String backend : List.of("scalar", "cpu")) {
                out.add(Arguments.of(c.get("name").asText(), backend, c));
            }
        }
        return out.stream();
    }

    /** The config generate starts from: the model folder's, then the call's kwargs. */
    static GenerationConfig config(JsonNode c) {
        Path dir = GoldenGeneration.dir().resolve(c.get("model").asText());
        return GenerationConfig.fromPretrained(dir).update(c.get("generate_kwargs"));
    }

    @ParameterizedTest(name = "{0} [{1}]")
    @MethodSource("cases")
    void matchesHuggingFace(String name, String backend, JsonNode c) {
        CausalLM model = model(c.get("model").asText(), backend);
        long[][] ids = GoldenGeneration.rows(c.get("inputs").get("input_ids"));
        long[][] mask = GoldenGeneration.rows(c.get("inputs").get("attention_mask"));
        GenerationConfig config = config(c);
        Generator generator = new Generator(model);
        if (c.has("error")) {
            assertThrows(GenerationException.class, () -> generator.generateOutput(ids, mask, config, null));
            return;
        }
        Generator.Output out = generator.generateOutput(ids, mask, config, null);
        long[][] expected = GoldenGeneration.rows(c.get("outputs").get("sequences"));
        assertEquals(expected.length, out.sequences().length, name + ": rows");
        for (int r = 0; r < expected.length; r++) {
            assertArrayEquals(expected[r], out.sequences()[r], name + " row " + r + ": got " + Arrays.toString(out.sequences()[r]));
        }
        assertEquals(c.get("num_steps").asInt(), out.steps(), name + ": decoding steps");
        JsonNode scores = c.get("outputs").get("sequences_scores");
        if (scores == null) {
            assertNull(out.sequencesScores(), name);
        } else {
            float[] want = GoldenGeneration.floats(scores);
            assertNotNull(out.sequencesScores(), name);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], out.sequencesScores()[i], SCORE_TOL, name + " sequences_scores[" + i + "]");
            }
        }
    }

    /** The GenerationConfig generate used (HF's diff against the defaults), after pad defaulting and max_new_tokens. */
    @ParameterizedTest(name = "{0} [{1}]")
    @MethodSource("cases")
    void effectiveConfigIsHuggingFaces(String name, String backend, JsonNode c) {
        if (!backend.equals("scalar")) {
            return;
        }
        GenerationConfig config = config(c);
        if (config.padTokenId() == null && config.eosTokenIds() != null) {
            config = config.withPadTokenId(config.eosTokenIds()[0]);
        }
        int promptLength = c.get("inputs").get("input_ids").get("shape").get(1).asInt();
        if (config.maxNewTokens() != null) {
            config = config.with("max_length", promptLength + config.maxNewTokens());
        }
        ObjectNode want = ((ObjectNode) c.get("effective").get("generation_config")).deepCopy();
        want.remove("_from_model_config");
        assertEquals(want, config.toDiffJson(), name);
        assertEquals(c.get("effective").get("max_length").asInt(), config.maxLength(), name);
    }

    /** The processors generate built, by HF class name, in its order. */
    @ParameterizedTest(name = "{0} [{1}]")
    @MethodSource("cases")
    void processorsInHuggingFacesOrder(String name, String backend, JsonNode c) {
        if (!backend.equals("scalar") || c.has("error")) {
            return;
        }
        GenerationConfig config = config(c);
        int promptLength = c.get("effective").get("prompt_length").asInt();
        List<String> want = new ArrayList<>();
        c.get("effective").get("logits_processors").forEach(p -> want.add(p.get("class").asText()));
        List<String> got = new ArrayList<>();
        for (LogitsProcessor p : LogitsProcessor.processors(config, promptLength, c.get("effective").get("max_length").asInt())) {
            got.add(LogitsProcessorsTest.hfName(p));
        }
        assertEquals(want, got, name);
        assertTrue(true);
    }
}
