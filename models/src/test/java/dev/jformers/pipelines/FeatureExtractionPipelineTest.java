package dev.jformers.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.core.Backend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

import static dev.jformers.pipelines.PipelineGolden.assertJsonClose;
import static dev.jformers.pipelines.PipelineGolden.toJson;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** feature-extraction against HF 4.28 (every call), plus pooled sentence embeddings checked by hand. */
class FeatureExtractionPipelineTest {
    static Backend backend;
    static FeatureExtractionPipeline fe;

    @BeforeAll
    static void load() {
        backend = PipelineGolden.backend();
        fe = (FeatureExtractionPipeline) Pipelines.pipeline("feature-extraction",
                PipelineGolden.dir("feature-extraction-bert").toString(), backend);
    }

    @AfterAll
    static void close() {
        fe.close();
        backend.close();
    }

    /** return_tensors=True gives the same numbers as a tensor; ours are always nested lists. */
    @TestFactory
    Stream<DynamicTest> golden() {
        return PipelineGolden.calls(PipelineGolden.golden("feature-extraction-bert")).stream().map(call ->
                DynamicTest.dynamicTest(call.get("name").asText(), () -> {
                    JsonNode input = call.get("inputs").get(0);
                    FeatureExtractionPipeline.Options o = FeatureExtractionPipeline.Options.defaults();
                    Object r = input.isArray() ? fe.call(PipelineGolden.strings(input), o) : fe.call(input.asText(), o);
                    // Hidden states of magnitude ~1: relative 1e-5 plus an absolute 1e-5 for values near zero.
                    assertJsonClose(call.get("output"), toJson(r), 1e-5, 1e-5);
                }));
    }

    @Test
    void meanPoolingAveragesTheTokenVectors() {
        float[][] tokens = fe.tokenEmbeddings("Hello world!", false);
        float[] mean = fe.sentenceEmbedding("Hello world!", FeatureExtractionPipeline.Pooling.MEAN, false);
        for (int j = 0; j < mean.length; j++) {
            double s = 0;
            for (float[] t : tokens) s += t[j];
            assertEquals(s / tokens.length, mean[j], 1e-5);
        }
        float[] cls = fe.sentenceEmbedding("Hello world!", FeatureExtractionPipeline.Pooling.CLS, false);
        for (int j = 0; j < cls.length; j++) assertEquals(tokens[0][j], cls[j], 0f);
    }

    @Test
    void normalizedVectorsHaveUnitLength() {
        float[] v = (float[]) fe.call("Feature extraction returns one vector per token.",
                FeatureExtractionPipeline.Options.sentenceTransformers());
        double n = 0;
        for (float x : v) n += x * x;
        assertEquals(1.0, Math.sqrt(n), 1e-6);
        assertEquals(16, v.length);
    }

    @Test
    void truncationCutsAtModelMaxLength() {
        String longText = "word ".repeat(300);
        assertEquals(128, fe.tokenEmbeddings(longText, true).length);
    }
}
