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

/** text-classification against HF 4.28 (single-label and multi-label goldens: every call), plus hand checks. */
class TextClassificationPipelineTest {
    static Backend backend;
    static TextClassificationPipeline single;
    static TextClassificationPipeline multi;

    @BeforeAll
    static void load() {
        backend = PipelineGolden.backend();
        single = (TextClassificationPipeline) Pipelines.pipeline("sentiment-analysis",
                PipelineGolden.dir("text-classification-bert").toString(), backend);
        multi = (TextClassificationPipeline) Pipelines.pipeline("text-classification",
                PipelineGolden.dir("text-classification-bert-multilabel").toString(), backend);
    }

    @AfterAll
    static void close() {
        single.close();
        multi.close();
        backend.close();
    }

    @TestFactory
    Stream<DynamicTest> singleLabelGolden() {
        return golden("text-classification-bert", single);
    }

    @TestFactory
    Stream<DynamicTest> multiLabelGolden() {
        return golden("text-classification-bert-multilabel", multi);
    }

    /** inputs[0]: a text, a list of texts, or {"text", "text_pair"}; kwargs top_k (int or null), function_to_apply, return_all_scores. */
    private static Stream<DynamicTest> golden(String folder, TextClassificationPipeline pipe) {
        return PipelineGolden.calls(PipelineGolden.golden(folder)).stream().map(call -> DynamicTest.dynamicTest(
                call.get("name").asText(), () -> {
                    TextClassificationPipeline.Options o = options(call.get("call_kwargs"));
                    JsonNode input = call.get("inputs").get(0);
                    Object result;
                    if (input.isArray()) {
                        List<TextClassificationPipeline.Input> in = new ArrayList<>();
                        input.forEach(t -> in.add(TextClassificationPipeline.Input.of(t.asText())));
                        result = pipe.call(in, o);
                    } else if (input.isObject()) {
                        result = pipe.call(new TextClassificationPipeline.Input(input.get("text").asText(),
                                input.get("text_pair").asText()), o);
                    } else {
                        result = pipe.call(input.asText(), o);
                    }
                    assertJsonClose(call.get("output"), toJson(result), 1e-5, 1e-7);
                }));
    }

    static TextClassificationPipeline.Options options(JsonNode kw) {
        TextClassificationPipeline.Options o = TextClassificationPipeline.Options.defaults();
        if (kw.has("top_k")) {
            o = kw.get("top_k").isNull() ? o.withAllLabels() : o.withTopK(kw.get("top_k").asInt());
        }
        if (kw.has("function_to_apply")) {
            o = o.withFunctionToApply(TextClassificationPipeline.Function.parse(kw.get("function_to_apply").asText()));
        }
        if (kw.has("return_all_scores")) {
            o = o.withReturnAllScores(kw.get("return_all_scores").asBoolean());
        }
        return o;
    }

    @Test
    void defaultFunctionFollowsProblemType() {
        assertEquals(TextClassificationPipeline.Function.SOFTMAX, single.defaultFunction());
        assertEquals(TextClassificationPipeline.Function.SIGMOID, multi.defaultFunction());
    }

    @Test
    void topKOneGivenIsAListEvenForAListOfTexts() {
        // top_k given: no legacy wrapping; a list of texts gives a list of lists.
        JsonNode j = toJson(single.call(List.of(TextClassificationPipeline.Input.of("Okay."),
                TextClassificationPipeline.Input.of("Fine.")), TextClassificationPipeline.Options.defaults().withTopK(1)));
        assertEquals(2, j.size());
        assertTrue(j.get(0).isArray() && j.get(0).size() == 1, j.toString());
        // Without top_k a list of texts gives bare dicts.
        JsonNode legacy = toJson(single.call(List.of(TextClassificationPipeline.Input.of("Okay.")),
                TextClassificationPipeline.Options.defaults()));
        assertTrue(legacy.get(0).isObject(), legacy.toString());
    }

    @Test
    void textPairWithoutTopKIsABareDict() {
        JsonNode j = toJson(single.call(new TextClassificationPipeline.Input("A cat.", "A dog."),
                TextClassificationPipeline.Options.defaults()));
        assertTrue(j.isObject() && j.has("label") && j.has("score"), j.toString());
    }

    @Test
    void returnAllScoresFalseIsTopOne() {
        JsonNode j = toJson(single.call("Okay.", TextClassificationPipeline.Options.defaults().withReturnAllScores(false)));
        assertEquals(1, j.size());
        assertTrue(j.get(0).isObject());
    }

    @Test
    void topKLargerThanLabelsGivesAll() {
        assertEquals(3, single.classify(TextClassificationPipeline.Input.of("Okay."), 10, null).size());
    }

    @Test
    void unknownFunctionIsAnError() {
        assertThrows(PipelineException.class, () -> TextClassificationPipeline.Function.parse("tanh"));
    }
}
