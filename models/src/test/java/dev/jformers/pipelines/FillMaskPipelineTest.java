package dev.jformers.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.core.Backend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.jformers.pipelines.PipelineGolden.assertJsonClose;
import static dev.jformers.pipelines.PipelineGolden.toJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** fill-mask against HF 4.28 (BERT and RoBERTa goldens: every call), plus options the goldens don't cover. */
class FillMaskPipelineTest {
    static Backend backend;
    static FillMaskPipeline bert;
    static FillMaskPipeline roberta;

    @BeforeAll
    static void load() {
        backend = PipelineGolden.backend();
        bert = (FillMaskPipeline) Pipelines.pipeline("fill-mask", PipelineGolden.dir("fill-mask-bert").toString(), backend);
        roberta = (FillMaskPipeline) Pipelines.pipeline("fill-mask", PipelineGolden.dir("fill-mask-roberta").toString(), backend);
    }

    @AfterAll
    static void close() {
        bert.close();
        roberta.close();
        backend.close();
    }

    @TestFactory
    Stream<DynamicTest> bertGolden() {
        return golden("fill-mask-bert", bert);
    }

    @TestFactory
    Stream<DynamicTest> robertaGolden() {
        return golden("fill-mask-roberta", roberta);
    }

    /** Each call: inputs[0] is a text or a list of texts; call_kwargs top_k / targets. */
    private static Stream<DynamicTest> golden(String folder, FillMaskPipeline pipe) {
        return PipelineGolden.calls(PipelineGolden.golden(folder)).stream().map(call -> DynamicTest.dynamicTest(
                call.get("name").asText(), () -> {
                    FillMaskPipeline.Options o = options(call.get("call_kwargs"));
                    JsonNode input = call.get("inputs").get(0);
                    Object result = input.isArray()
                            ? pipe.call(PipelineGolden.strings(input), o)
                            : pipe.call(input.asText(), o);
                    // Scores are softmax probabilities of ~1e-3; their order is checked exactly (the recorded
                    // min_adjacent_score_gap is far above float noise).
                    assertJsonClose(call.get("output"), toJson(result), 1e-5, 1e-10);
                }));
    }

    private static FillMaskPipeline.Options options(JsonNode kw) {
        FillMaskPipeline.Options o = FillMaskPipeline.Options.defaults();
        if (kw.has("top_k")) {
            o = o.withTopK(kw.get("top_k").asInt());
        }
        if (kw.has("targets")) {
            o = o.withTargets(PipelineGolden.strings(kw.get("targets")));
        }
        return o;
    }

    @Test
    void noMaskTokenIsAnError() {
        PipelineException e = assertThrows(PipelineException.class,
                () -> bert.call("There is no mask here.", FillMaskPipeline.Options.defaults()));
        assertEquals("No mask_token ([MASK]) found on the input", e.getMessage());
    }

    @Test
    void severalMasksGiveOneListPerMaskWithSpecialTokensKept() {
        Object r = bert.call("The [MASK] of France is [MASK].", FillMaskPipeline.Options.defaults().withTopK(2));
        JsonNode j = toJson(r);
        assertEquals(2, j.size());
        for (JsonNode perMask : j) {
            assertEquals(2, perMask.size());
            // HF decodes with skip_special_tokens=False when there are several masks: the other mask stays.
            String seq = perMask.get(0).get("sequence").asText();
            assertTrue(seq.startsWith("[CLS] ") && seq.endsWith(" [SEP]") && seq.contains("[MASK]"), seq);
        }
        // The first mask's candidates are those of the single-mask softmax at that position.
        List<List<FillMaskPipeline.Candidate>> per = bert.fill("The [MASK] of France is [MASK].",
                FillMaskPipeline.Options.defaults().withTopK(2));
        assertEquals(per.get(0).get(0).token(), j.get(0).get(0).get("token").asInt());
    }

    @Test
    void listOfOneTextGivesThatTextsResult() {
        FillMaskPipeline.Options o = FillMaskPipeline.Options.defaults().withTopK(2);
        // (equal up to float noise: the SIMD backend's sums may be split differently from one call to the next)
        assertJsonClose(toJson(bert.call("Hello [MASK].", o)), toJson(bert.call(List.of("Hello [MASK]."), o)), 1e-5, 1e-10);
    }

    @Test
    void targetsCapTopKAndDropDuplicates() {
        FillMaskPipeline.Options o = FillMaskPipeline.Options.defaults().withTopK(10)
                .withTargets(List.of("paris", "paris", "london"));
        JsonNode j = toJson(bert.call("The capital of France is [MASK].", o));
        assertEquals(2, j.size());
        List<Integer> tokens = new ArrayList<>();
        j.forEach(c -> tokens.add(c.get("token").asInt()));
        assertTrue(tokens.containsAll(List.of(3000, 2414)), tokens.toString());
        // A target's score is its full-vocabulary probability: the same as without targets.
        List<FillMaskPipeline.Candidate> all = bert.fill("The capital of France is [MASK].",
                FillMaskPipeline.Options.defaults().withTopK(30522)).get(0);
        float paris = all.stream().filter(c -> c.token() == 3000).findFirst().orElseThrow().score();
        j.forEach(c -> {
            if (c.get("token").asInt() == 3000) {
                assertEquals(paris, c.get("score").floatValue(), 1e-9);
            }
        });
    }

    @Test
    void badOptionsAreRejected() {
        assertThrows(PipelineException.class, () -> FillMaskPipeline.Options.defaults().withTopK(0));
    }
}
