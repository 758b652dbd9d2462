package dev.jformers.models.generation;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each logits processor / warper on HF's fixed inputs (testdata/golden-generation → logits_processors), and the
 * chains generate builds for sampling and beam sampling: same classes in the same order, same outputs. −∞ must be
 * −∞ exactly; finite scores within 1e-5 (float32 rounding of the same formulas).
 */
class LogitsProcessorsTest {
    static final JsonNode LP = GoldenGeneration.golden().get("logits_processors");

    /** HF's class name for one of ours. */
    static String hfName(LogitsProcessor p) {
        String s = p.getClass().getSimpleName();
        return switch (s) {
            case "LogitNormalization" -> s;
            case "ForcedBOS", "ForcedEOS" -> s.replace("BOS", "BOSToken").replace("EOS", "EOSToken") + "LogitsProcessor";
            case "ExponentialDecayLengthPenalty" -> s;
            case "Temperature", "TopK", "TopP", "Typical", "Epsilon", "Eta" -> s + "LogitsWarper";
            case "InfNanRemove", "RepetitionPenalty", "NoRepeatNGram", "NoBadWords", "MinLength", "MinNewTokensLength",
                 "SuppressTokens", "SuppressTokensAtBegin" -> s + "LogitsProcessor";
            default -> throw new IllegalStateException(s);
        };
    }

    static int[] ints(JsonNode list) {
        if (!list.isArray()) {
            return new int[] {list.asInt()};
        }
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(i).asInt();
        }
        return out;
    }

    static LogitsProcessor build(String hfClass, JsonNode a) {
        int keep = a.path("min_tokens_to_keep").asInt(1);
        return switch (hfClass) {
            case "TemperatureLogitsWarper" -> new LogitsProcessor.Temperature(a.get("temperature").asDouble());
            case "TopKLogitsWarper" -> new LogitsProcessor.TopK(a.get("top_k").asInt(), keep);
            case "TopPLogitsWarper" -> new LogitsProcessor.TopP(a.get("top_p").asDouble(), keep);
            case "TypicalLogitsWarper" -> new LogitsProcessor.Typical(a.get("mass").asDouble(), keep);
            case "EpsilonLogitsWarper" -> new LogitsProcessor.Epsilon(a.get("epsilon").asDouble(), keep);
            case "EtaLogitsWarper" -> new LogitsProcessor.Eta(a.get("epsilon").asDouble(), keep);
            case "RepetitionPenaltyLogitsProcessor" -> new LogitsProcessor.RepetitionPenalty(a.get("penalty").asDouble());
            case "NoRepeatNGramLogitsProcessor" -> new LogitsProcessor.NoRepeatNGram(a.get("ngram_size").asInt());
            case "MinNewTokensLengthLogitsProcessor" -> new LogitsProcessor.MinNewTokensLength(
                    a.get("prompt_length_to_skip").asInt(), a.get("min_new_tokens").asInt(), ints(a.get("eos_token_id")));
            case "MinLengthLogitsProcessor" -> new LogitsProcessor.MinLength(a.get("min_length").asInt(), ints(a.get("eos_token_id")));
            case "NoBadWordsLogitsProcessor" -> {
                int[][] words = new int[a.get("bad_words_ids").size()][];
                for (int i = 0; i < words.length; i++) {
                    words[i] = ints(a.get("bad_words_ids").get(i));
                }
                yield new LogitsProcessor.NoBadWords(words, ints(a.get("eos_token_id")));
            }
            case "ForcedEOSTokenLogitsProcessor" -> new LogitsProcessor.ForcedEOS(a.get("max_length").asInt(), ints(a.get("eos_token_id")));
            case "LogitNormalization" -> new LogitsProcessor.LogitNormalization();
            default -> throw new IllegalArgumentException(hfClass);
        };
    }

    static void assertScores(String what, float[] want, float[] got) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            if (Float.isInfinite(want[i]) || Float.isInfinite(got[i])) {
                assertEquals(want[i], got[i], what + " [" + i + "]");
            } else {
                assertEquals(want[i], got[i], 1e-5 * Math.max(1, Math.abs(want[i])), what + " [" + i + "]");
            }
        }
    }

    /** Applies {@code list} row by row to [rows, V] scores with the rows' ids. */
    static float[] apply(List<LogitsProcessor> list, long[][] ids, float[] scores) {
        int rows = ids.length, vocab = scores.length / rows;
        float[] out = scores.clone();
        for (int r = 0; r < rows; r++) {
            float[] row = new float[vocab];
            System.arraycopy(out, r * vocab, row, 0, vocab);
            LogitsProcessor.applyAll(list, ids[r], ids[r].length, row);
            System.arraycopy(row, 0, out, r * vocab, vocab);
        }
        return out;
    }

    @TestFactory
    Stream<DynamicTest> eachProcessorOnFixedLogits() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode e : LP.get("entries")) {
            tests.add(DynamicTest.dynamicTest(e.get("name").asText(), () -> {
                long[][] ids = GoldenGeneration.rows(e.has("input_ids") ? e.get("input_ids") : LP.get("input_ids"));
                float[] scores = GoldenGeneration.floats(e.has("scores") ? e.get("scores") : LP.get("scores"));
                LogitsProcessor p = build(e.get("class").asText(), e.get("args"));
                assertScores(e.get("name").asText(), GoldenGeneration.floats(e.get("output")), apply(List.of(p), ids, scores));
            }));
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> generateChainsInHuggingFacesOrder() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode ch : LP.get("generate_chains")) {
            tests.add(DynamicTest.dynamicTest(ch.get("mode").asText(), () -> {
                GenerationConfig config = GenerationConfig.defaults().update(ch.get("generate_kwargs"));
                int promptLength = ch.get("prompt_length").asInt();
                int maxLength = promptLength + config.maxNewTokens();
                assertEquals(ch.get("effective_max_length").asInt(), maxLength);
                List<LogitsProcessor> processors = LogitsProcessor.processors(config, promptLength, maxLength);
                List<LogitsProcessor> warpers = LogitsProcessor.warpers(config);
                assertEquals(names(ch.get("logits_processors")), processors.stream().map(LogitsProcessorsTest::hfName).toList());
                assertEquals(names(ch.get("logits_warpers")), warpers.stream().map(LogitsProcessorsTest::hfName).toList());
                for (int i = 0; i < warpers.size(); i++) {
                    JsonNode keep = ch.get("logits_warpers").get(i).get("min_tokens_to_keep");
                    if (keep != null) {
                        assertTrue(warpers.get(i).toString().contains("minTokensToKeep=" + keep.asInt()), warpers.get(i).toString());
                    }
                }
                if (ch.has("output")) {
                    long[][] ids = GoldenGeneration.rows(LP.get("input_ids"));
                    float[] scores = GoldenGeneration.floats(LP.get("scores"));
                    float[] afterProcessors = apply(processors, ids, scores);
                    assertScores("after processors", GoldenGeneration.floats(ch.get("after_processors")), afterProcessors);
                    assertScores("after warpers", GoldenGeneration.floats(ch.get("output")), apply(warpers, ids, afterProcessors));
                }
            }));
        }
        return tests.stream();
    }

    static List<String> names(JsonNode list) {
        List<String> out = new ArrayList<>();
        list.forEach(p -> out.add(p.get("class").asText()));
        return out;
    }

    @Test
    void invalidValuesAreRefusedWithHuggingFacesMessages() {
        assertThrows(GenerationException.class, () -> new LogitsProcessor.Temperature(0));
        assertThrows(GenerationException.class, () -> new LogitsProcessor.TopP(1.5, 1));
        assertThrows(GenerationException.class, () -> new LogitsProcessor.NoBadWords(new int[][] {{}}, null));
        assertThrows(GenerationException.class, () -> new LogitsProcessor.RepetitionPenalty(0));
    }
}
