package dev.jformers.pipelines;

import dev.jformers.models.AutoModel;
import dev.jformers.models.ModelInput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.tokenizers.AutoTokenizer;
import dev.jformers.tokenizers.Encoding;
import dev.jformers.tokenizers.Tokenizer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Batches give what one text at a time gives: padded batches (ModelInput.of(List&lt;Encoding&gt;)), pipelines over
 * lists at several batch sizes (length grouping reorders texts; results come back in input order), and one
 * pipeline shared by 8 threads.
 */
class BatchTest {
    static final float TOL = 2e-5f;
    static final List<String> TEXTS = List.of("hello world", "the quick brown fox jumps over the lazy dog again and again",
            "a", "paris is the capital of france .", "hello", "one two three four five six seven", "the dog");

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], TOL, what + " [" + i + "]");
        }
    }

    /** BERT (pad 0) and RoBERTa (pad 1, positions from the mask): each row of a padded batch equals its text alone. */
    @Test
    void aPaddedBatchGivesEachTextsOwnHiddenStates() {
        for (String name : List.of("feature-extraction-bert", "fill-mask-roberta")) {
            String dir = PipelineGolden.dir(name).toString();
            try (PreTrainedModel model = AutoModel.fromPretrained(dir); Tokenizer tok = AutoTokenizer.fromPretrained(dir)) {
                List<Encoding> batch = tok.encodeBatch(TEXTS, true, true, null);
                float[] all = model.forward(ModelInput.of(batch)).lastHiddenState().toFloatArray();
                int t = batch.getFirst().length(), h = all.length / (TEXTS.size() * t);
                for (int b = 0; b < TEXTS.size(); b++) {
                    Encoding alone = tok.encode(TEXTS.get(b));
                    float[] single = model.forward(ModelInput.of(List.of(alone))).lastHiddenState().toFloatArray();
                    float[] row = new float[alone.length() * h];
                    System.arraycopy(all, b * t * h, row, 0, row.length);
                    assertClose(single, row, name + " text " + b);
                }
                // Unpadded encodings of different lengths, padded by ModelInput with the tokenizer's pad id.
                float[] again = model.forward(ModelInput.of(tok.encodeBatch(TEXTS, false, true, null), tok.padTokenId()))
                        .lastHiddenState().toFloatArray();
                assertClose(all, again, name + " padded by ModelInput");
            }
        }
    }

    @Test
    void featureExtractionOverAListEqualsOneTextAtATime() {
        try (FeatureExtractionPipeline fe = Pipelines.featureExtraction(PipelineGolden.dir("feature-extraction-bert").toString())) {
            fe.setBatchSize(1);
            float[][] alone = fe.embedAll(TEXTS);
            List<float[][]> tokensAlone = fe.tokenEmbeddings(TEXTS, false);
            for (int size : new int[] {3, 16}) {
                fe.setBatchSize(size);
                float[][] batched = fe.embedAll(TEXTS);
                List<float[][]> tokens = fe.tokenEmbeddings(TEXTS, false);
                for (int i = 0; i < TEXTS.size(); i++) {
                    assertClose(alone[i], batched[i], "batch " + size + " text " + i);
                    assertClose(fe.sentenceEmbedding(TEXTS.get(i), FeatureExtractionPipeline.Pooling.MEAN, true), batched[i], "apply " + i);
                    assertEquals(tokensAlone.get(i).length, tokens.get(i).length);
                    for (int r = 0; r < tokens.get(i).length; r++) {
                        assertClose(tokensAlone.get(i)[r], tokens.get(i)[r], "tokens " + i + "/" + r);
                    }
                }
            }
        }
    }

    @Test
    void fillMaskAndTextClassificationOverAListEqualOneTextAtATime() {
        List<String> masked = TEXTS.stream().map(t -> t + " [MASK] .").toList();
        try (FillMaskPipeline fm = Pipelines.fillMask(PipelineGolden.dir("fill-mask-bert").toString())) {
            List<List<FillMaskPipeline.Candidate>> batched = fm.apply(masked);
            for (int i = 0; i < masked.size(); i++) {
                List<FillMaskPipeline.Candidate> alone = fm.apply(masked.get(i));
                assertEquals(alone.size(), batched.get(i).size());
                for (int k = 0; k < alone.size(); k++) {
                    assertEquals(alone.get(k).token(), batched.get(i).get(k).token(), masked.get(i));
                    assertEquals(alone.get(k).score(), batched.get(i).get(k).score(), TOL);
                    assertEquals(alone.get(k).sequence(), batched.get(i).get(k).sequence());
                }
            }
        }
        try (TextClassificationPipeline tc = Pipelines.textClassification(PipelineGolden.dir("text-classification-bert").toString())) {
            List<TextClassificationPipeline.LabelScore> batched = tc.apply(TEXTS);
            for (int i = 0; i < TEXTS.size(); i++) {
                TextClassificationPipeline.LabelScore alone = tc.apply(TEXTS.get(i));
                assertEquals(alone.label(), batched.get(i).label());
                assertEquals(alone.score(), batched.get(i).score(), TOL);
            }
        }
    }

    /** token-classification and question-answering batch their windows: results equal one input at a time. */
    @Test
    void tokenClassificationAndQuestionAnsweringOverAListEqualOneAtATime() {
        try (TokenClassificationPipeline ner = Pipelines.tokenClassification(PipelineGolden.dir("token-classification-bert").toString())) {
            String longText = String.join(" ", java.util.Collections.nCopies(20, "my name is wolfgang and i live in berlin ."));
            List<String> texts = new ArrayList<>(TEXTS);
            texts.add(longText);
            for (TokenClassificationPipeline.Options o : List.of(TokenClassificationPipeline.Options.defaults(),
                    TokenClassificationPipeline.Options.defaults().withAggregationStrategy(
                            TokenClassificationPipeline.AggregationStrategy.AVERAGE).withStride(8))) {
                ner.setBatchSize(3);
                List<List<TokenClassificationPipeline.Entity>> batched = ner.predictAll(texts, o);
                ner.setBatchSize(1);
                for (int i = 0; i < texts.size(); i++) {
                    assertEntitiesClose(ner.predict(texts.get(i), o), batched.get(i), o + " text " + i);
                }
            }
        }
        try (QuestionAnsweringPipeline qa = Pipelines.questionAnswering(PipelineGolden.dir("question-answering-bert").toString())) {
            String longContext = String.join(" ", java.util.Collections.nCopies(20, "paris is the capital of france and berlin is in germany ."));
            List<QuestionAnsweringPipeline.Input> inputs = List.of(
                    new QuestionAnsweringPipeline.Input("where is berlin ?", "berlin is in germany ."),
                    new QuestionAnsweringPipeline.Input("what is the capital of france ?", longContext),
                    new QuestionAnsweringPipeline.Input("who ?", "the dog"));
            QuestionAnsweringPipeline.Options o = QuestionAnsweringPipeline.Options.defaults().withTopK(3).withMaxSeqLen(48).withDocStride(16);
            qa.setBatchSize(4);
            List<List<QuestionAnsweringPipeline.Answer>> batched = qa.answersAll(inputs, o);
            qa.setBatchSize(1);
            for (int i = 0; i < inputs.size(); i++) {
                List<QuestionAnsweringPipeline.Answer> alone = qa.answers(inputs.get(i).question(), inputs.get(i).context(), o);
                assertEquals(alone.size(), batched.get(i).size());
                for (int k = 0; k < alone.size(); k++) {
                    assertEquals(alone.get(k).start(), batched.get(i).get(k).start(), "input " + i);
                    assertEquals(alone.get(k).end(), batched.get(i).get(k).end());
                    assertEquals(alone.get(k).score(), batched.get(i).get(k).score(), TOL);
                }
            }
        }
    }

    private static void assertEntitiesClose(List<TokenClassificationPipeline.Entity> alone,
                                            List<TokenClassificationPipeline.Entity> batched, String what) {
        assertEquals(alone.size(), batched.size(), what);
        for (int k = 0; k < alone.size(); k++) {
            TokenClassificationPipeline.Entity a = alone.get(k), b = batched.get(k);
            assertEquals(a.word(), b.word(), what);
            assertEquals(a.start(), b.start(), what);
            assertEquals(a.end(), b.end(), what);
            assertEquals(a.score(), b.score(), TOL, what);
            assertEquals(a.getClass(), b.getClass());
        }
    }

    /** One pipeline (one model, one backend) used by 8 threads at once gives each thread the numbers it gives alone. */
    @Test
    void onePipelineServesEightThreads() throws Exception {
        try (FeatureExtractionPipeline fe = Pipelines.featureExtraction(PipelineGolden.dir("feature-extraction-bert").toString())) {
            float[][] expected = fe.embedAll(TEXTS);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<?>> jobs = new ArrayList<>();
                for (int thread = 0; thread < 8; thread++) {
                    int offset = thread;
                    jobs.add(pool.submit(() -> {
                        for (int round = 0; round < 10; round++) {
                            int i = (offset + round) % TEXTS.size();
                            assertClose(expected[i], fe.apply(TEXTS.get(i)), "thread " + offset + " text " + i);
                            if (round % 5 == 0) {
                                float[][] all = fe.embedAll(TEXTS);
                                for (int k = 0; k < all.length; k++) {
                                    assertClose(expected[k], all[k], "thread " + offset + " batch text " + k);
                                }
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : jobs) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
