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

import static dev.jformers.pipelines.PipelineGolden.toJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** text-generation against HF 4.28 (greedy: every call, exact text and ids), plus sampling and streaming. */
class TextGenerationPipelineTest {
    static Backend backend;
    static TextGenerationPipeline gen;

    @BeforeAll
    static void load() {
        backend = PipelineGolden.backend();
        gen = (TextGenerationPipeline) Pipelines.pipeline("text-generation",
                PipelineGolden.dir("text-generation-gpt2").toString(), backend);
    }

    @AfterAll
    static void close() {
        gen.close();
        backend.close();
    }

    static TextGenerationPipeline.Options options(JsonNode kw) {
        TextGenerationPipeline.Options o = TextGenerationPipeline.Options.defaults();
        if (kw.has("max_new_tokens")) o = o.withMaxNewTokens(kw.get("max_new_tokens").asInt());
        if (kw.has("do_sample")) o = o.withDoSample(kw.get("do_sample").asBoolean());
        if (kw.has("return_full_text")) o = o.withReturnFullText(kw.get("return_full_text").asBoolean());
        if (kw.has("return_tensors")) o = o.withReturnTensors(kw.get("return_tensors").asBoolean());
        return o;
    }

    @TestFactory
    Stream<DynamicTest> golden() {
        return PipelineGolden.calls(PipelineGolden.golden("text-generation-gpt2")).stream().map(call ->
                DynamicTest.dynamicTest(call.get("name").asText(), () -> {
                    Object r = gen.call(call.get("inputs").get(0).asText(), options(call.get("call_kwargs")));
                    // Greedy decoding: texts and ids must be identical.
                    PipelineGolden.assertJsonClose(call.get("output"), toJson(r), 0, 0);
                }));
    }

    @Test
    void streamingPiecesMakeUpTheNewText() {
        List<String> pieces = new ArrayList<>();
        TextGenerationPipeline.Options o = TextGenerationPipeline.Options.defaults().withMaxNewTokens(8).withDoSample(false)
                .withReturnFullText(false);
        TextGenerationPipeline.Generated g = gen.generate("Hello, my name is", o, pieces::add);
        assertTrue(pieces.size() > 1, pieces.toString());
        assertEquals(((TextGenerationPipeline.GeneratedText) g).generatedText(), String.join("", pieces));
    }

    @Test
    void listOfPromptsGivesOneListPerPrompt() {
        TextGenerationPipeline.Options o = TextGenerationPipeline.Options.defaults().withMaxNewTokens(2);
        JsonNode j = toJson(gen.call(List.of("Hello", "The quick"), o));
        assertEquals(2, j.size());
        assertEquals(1, j.get(0).size());
        assertTrue(j.get(1).get(0).get("generated_text").asText().startsWith("The quick"));
    }

    @Test
    void defaultLengthIsMaxLength20() {
        // No max_new_tokens: HF's max_length 20 counts the prompt (5 tokens here), so 15 new tokens.
        TextGenerationPipeline.Generated g = gen.generate("Hello, my name is",
                TextGenerationPipeline.Options.defaults().withReturnTensors(true), null);
        assertEquals(20, ((TextGenerationPipeline.GeneratedTokenIds) g).generatedTokenIds().length);
    }

    @Test
    void samplingWithASeedIsRepeatableAndDiffersFromGreedy() {
        TextGenerationPipeline.Options s = TextGenerationPipeline.Options.defaults().withMaxNewTokens(12).withDoSample(true)
                .withSeed(42L).withTemperature(1.5).withTopK(0).withTopP(1.0);
        String a = ((TextGenerationPipeline.GeneratedText) gen.generate("Hello", s, null)).generatedText();
        String b = ((TextGenerationPipeline.GeneratedText) gen.generate("Hello", s, null)).generatedText();
        assertEquals(a, b);
        String greedy = ((TextGenerationPipeline.GeneratedText) gen.generate("Hello",
                TextGenerationPipeline.Options.defaults().withMaxNewTokens(12), null)).generatedText();
        assertNotEquals(greedy, a);
    }

    @Test
    void samplingKnobsWithoutDoSampleStayGreedy() {
        TextGenerationPipeline.Options greedy = TextGenerationPipeline.Options.defaults().withMaxNewTokens(6);
        assertEquals(toJson(gen.call("Hello", greedy)), toJson(gen.call("Hello", greedy.withTemperature(2.0).withSeed(1L))));
    }
}
