package dev.jformers.spark;

import dev.jformers.pipelines.FeatureExtractionPipeline;
import dev.jformers.pipelines.FeatureExtractionPipeline.Pooling;
import dev.jformers.pipelines.Pipelines;
import dev.jformers.pipelines.TextClassificationPipeline;
import dev.jformers.pipelines.TextClassificationPipeline.LabelScore;
import dev.jformers.pipelines.TokenClassificationPipeline;
import dev.jformers.pipelines.TokenClassificationPipeline.AggregationStrategy;
import dev.jformers.pipelines.TokenClassificationPipeline.Entity;
import dev.jformers.pipelines.TokenClassificationPipeline.EntityGroup;
import dev.jformers.pipelines.TokenClassificationPipeline.TokenEntity;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The stages on a local[2] session against the in-process pipelines on the tiny models of testdata/golden: the same
 * labels, entities and vectors, row by row, in the rows' order.
 */
class SparkStagesTest {
    /** Texts of different lengths (so batches sort and pad), with the golden calls' inputs among them. */
    static final List<String> TEXTS = List.of(
            "I love this movie, it is wonderful!",
            "The weather today is terrible.",
            "Okay.",
            "My name is Wolfgang and I live in Berlin.",
            "Hugging Face Inc. is a company based in New York City. Its headquarters are in DUMBO, therefore very close"
                    + " to the Manhattan Bridge which is visible from the window.",
            "Paris",
            "Sarah works for Acme in London and visits Tokyo every spring with her friend Jean-Pierre.",
            "The cat sat on the mat.");

    static final float TOLERANCE = 1e-5f;

    @Test
    void textClassifierEqualsThePipeline() {
        String model = LocalSpark.golden("text-classification-bert");
        Dataset<Row> df = LocalSpark.texts(TEXTS, 3);
        List<Row> best = LocalSpark.byId(new TextClassifier().setModel(model).setBatchSize(3).transform(df));
        List<Row> all = LocalSpark.byId(new TextClassifier().setModel(model).setAllScores(true).setOutputCol("all")
                .transform(df));
        try (TextClassificationPipeline p = Pipelines.textClassification(model)) {
            for (int i = 0; i < TEXTS.size(); i++) {
                List<LabelScore> expected = p.classify(TextClassificationPipeline.Input.of(TEXTS.get(i)), null, null);
                assertLabelScore(expected.get(0), best.get(i).getStruct(2), TEXTS.get(i));
                List<Row> got = all.get(i).getList(2);
                assertEquals(expected.size(), got.size());
                for (int k = 0; k < expected.size(); k++) {
                    assertLabelScore(expected.get(k), got.get(k), TEXTS.get(i));
                }
            }
        }
        // Hugging Face's own answer for the first text (golden.json, call "default").
        assertEquals("neutral", best.get(0).getStruct(2).getString(0));
        assertEquals(0.45459536f, best.get(0).getStruct(2).getFloat(1), TOLERANCE);
    }

    private static void assertLabelScore(LabelScore expected, Row got, String text) {
        assertEquals(expected.label(), got.getString(0), text);
        assertEquals(expected.score(), got.getFloat(1), TOLERANCE, text);
    }

    @Test
    void tokenClassifierEqualsThePipeline() {
        String model = LocalSpark.golden("token-classification-bert");
        Dataset<Row> df = LocalSpark.texts(TEXTS, 2);
        try (TokenClassificationPipeline p = Pipelines.tokenClassification(model)) {
            for (String strategy : List.of("none", "simple")) {
                List<Row> rows = LocalSpark.byId(new TokenClassifier().setModel(model).setAggregationStrategy(strategy)
                        .setBatchSize(4).transform(df));
                for (int i = 0; i < TEXTS.size(); i++) {
                    List<Entity> expected = p.predict(TEXTS.get(i), TokenClassificationPipeline.Options.defaults()
                            .withAggregationStrategy(AggregationStrategy.parse(strategy)));
                    List<Row> got = rows.get(i).getList(2);
                    assertEquals(expected.size(), got.size(), strategy + ": " + TEXTS.get(i));
                    for (int k = 0; k < expected.size(); k++) {
                        Row g = got.get(k);
                        switch (expected.get(k)) {
                            case TokenEntity t -> {
                                assertEquals(List.of(t.entity(), t.index(), t.word(), t.start(), t.end()),
                                        List.of(g.getAs("entity"), g.getAs("index"), g.getAs("word"), g.getAs("start"),
                                                g.getAs("end")), TEXTS.get(i));
                                assertEquals(t.score(), g.<Float>getAs("score"), TOLERANCE);
                            }
                            case EntityGroup e -> {
                                assertEquals(List.of(e.entityGroup(), e.word(), e.start(), e.end()),
                                        List.of(g.getAs("entity_group"), g.getAs("word"), g.getAs("start"), g.getAs("end")),
                                        TEXTS.get(i));
                                assertEquals(e.score(), g.<Float>getAs("score"), TOLERANCE);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void sentenceEmbedderEqualsThePipelineWithBothPoolings() {
        String model = LocalSpark.golden("feature-extraction-bert");
        Dataset<Row> df = LocalSpark.texts(TEXTS, 3);
        try (FeatureExtractionPipeline p = Pipelines.featureExtraction(model)) {
            List<Row> mean = LocalSpark.byId(new SentenceEmbedder().setModel(model).setBatchSize(3).transform(df));
            List<Row> cls = LocalSpark.byId(new SentenceEmbedder().setModel(model).setPooling("cls").setNormalize(false)
                    .setOutputType("array").transform(df));
            for (int i = 0; i < TEXTS.size(); i++) {
                assertClose(p.sentenceEmbedding(TEXTS.get(i), Pooling.MEAN, true), mean.get(i).<Vector>getAs(2).toArray());
                float[] got = toFloats(cls.get(i).getList(2));
                assertArrayEquals(p.sentenceEmbedding(TEXTS.get(i), Pooling.CLS, false), got, 1e-4f, TEXTS.get(i));
            }
        }
    }

    static void assertClose(float[] expected, double[] got) {
        assertEquals(expected.length, got.length);
        for (int j = 0; j < expected.length; j++) {
            assertEquals(expected[j], got[j], TOLERANCE, "element " + j);
        }
    }

    static float[] toFloats(List<Object> list) {
        float[] f = new float[list.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = (Float) list.get(i);
        }
        return f;
    }

    @Test
    void nullGivesNullAndEmptyTextIsRunLikeThePipeline() {
        String model = LocalSpark.golden("text-classification-bert");
        Dataset<Row> df = LocalSpark.texts(Arrays.asList("Okay.", null, "", null), 2);
        List<Row> rows = LocalSpark.byId(new TextClassifier().setModel(model).transform(df));
        assertNull(rows.get(1).get(2));
        assertNull(rows.get(3).get(2));
        try (TextClassificationPipeline p = Pipelines.textClassification(model)) {
            assertLabelScore(p.classify(TextClassificationPipeline.Input.of(""), 1, null).get(0), rows.get(2).getStruct(2), "");
        }
        List<Row> entities = LocalSpark.byId(new TokenClassifier().setModel(LocalSpark.golden("token-classification-bert"))
                .transform(df));
        assertNull(entities.get(1).get(2));
        assertNotNull(entities.get(2).getList(2));

        Exception e = assertThrows(Exception.class, () -> new TextClassifier().setModel(model).setStrict(true)
                .transform(df).collectAsList());
        assertTrue(messages(e).contains("null text in column 'text'"), messages(e));
    }

    @Test
    void overLongTextsAreCutAsThePipelineCutsThemAndCounted() {
        String model = LocalSpark.golden("feature-extraction-bert");
        Dataset<Row> df = LocalSpark.texts(TEXTS, 2);
        SentenceEmbedder stage = new SentenceEmbedder().setModel(model).setMaxLength(8).setOutputType("array");
        List<Row> rows = LocalSpark.byId(stage.transform(df));
        try (FeatureExtractionPipeline p = Pipelines.featureExtraction(model)) {
            int longer = 0;
            for (int i = 0; i < TEXTS.size(); i++) {
                dev.jformers.tokenizers.Encoding cut = p.tokenizer().encode(TEXTS.get(i),
                        dev.jformers.tokenizers.EncodeOptions.defaults().withTruncation(8));
                longer += p.tokenizer().encode(TEXTS.get(i)).length() > 8 ? 1 : 0;
                float[] flat = TextFunction.forward(p, List.of(cut)).lastHiddenState().toFloatArray(); // [1, T, H]
                float[][] tokens = new float[cut.length()][flat.length / cut.length()];
                for (int t = 0; t < tokens.length; t++) {
                    System.arraycopy(flat, t * tokens[t].length, tokens[t], 0, tokens[t].length);
                }
                assertArrayEquals(FeatureExtractionPipeline.pool(tokens, cut.attentionMask(), Pooling.MEAN, true),
                        toFloats(rows.get(i).getList(2)), 1e-4f, TEXTS.get(i));
            }
            assertTrue(longer >= 4, "texts longer than 8 tokens: " + longer);
            assertEquals(longer, stage.truncatedCount());
        }
    }

    @Test
    void aMissingModelFailsOnceNamingThePath(@TempDir Path tmp) {
        String missing = tmp.resolve("no-such-model").toString();
        Dataset<Row> df = LocalSpark.texts(TEXTS, 2);
        Exception e = assertThrows(Exception.class,
                () -> new SentenceEmbedder().setModel(missing).transform(df).collectAsList());
        String m = messages(e);
        assertTrue(m.contains("cannot load the feature-extraction model '" + missing + "'"), m);
        assertTrue(m.contains("no folder " + missing), m);
    }

    /** Every message in the cause chain (Spark wraps the executor's exception). */
    static String messages(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            sb.append(t.getMessage()).append(" | ");
        }
        return sb.toString();
    }

    @Test
    void aPipelineWithJformersStagesSavesAndLoads(@TempDir Path tmp) throws Exception {
        Dataset<Row> df = LocalSpark.texts(TEXTS, 2);
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
                new SentenceEmbedder().setModel(LocalSpark.golden("feature-extraction-bert")).setPooling("cls")
                        .setNormalize(false).setBatchSize(5).setMaxLength(16).setOutputCol("v"),
                new TextClassifier().setModel(LocalSpark.golden("text-classification-bert")).setOutputCol("c"),
                new TokenClassifier().setModel(LocalSpark.golden("token-classification-bert"))
                        .setAggregationStrategy("first").setOutputCol("e")});
        PipelineModel fitted = pipeline.fit(df);
        List<Row> expected = LocalSpark.byId(fitted.transform(df));

        fitted.save(tmp.resolve("model").toString());
        pipeline.save(tmp.resolve("pipeline").toString());
        List<Row> reloaded = LocalSpark.byId(PipelineModel.load(tmp.resolve("model").toString()).transform(df));
        List<Row> refitted = LocalSpark.byId(Pipeline.load(tmp.resolve("pipeline").toString()).fit(df).transform(df));
        assertClose(expected, reloaded, "$");
        assertClose(expected, refitted, "$");

        SentenceEmbedder e = (SentenceEmbedder) PipelineModel.load(tmp.resolve("model").toString()).stages()[0];
        assertEquals(List.of("cls", false, 5, 16, "v"),
                List.of(e.getPooling(), e.getNormalize(), e.getBatchSize(), e.getMaxLength(), e.getOutputCol()));
    }

    /**
     * Equal values, floats within {@link #TOLERANCE}: a shuffle's output order varies from run to run, so rows of
     * equal length may meet other rows in a batch, and a different padding changes the last bits.
     */
    static void assertClose(Object expected, Object got, String path) {
        if (expected instanceof Row e && got instanceof Row g) {
            assertClose(scala.jdk.javaapi.CollectionConverters.asJava(e.toSeq()),
                    scala.jdk.javaapi.CollectionConverters.asJava(g.toSeq()), path);
        } else if (expected instanceof scala.collection.Seq<?> e && got instanceof scala.collection.Seq<?> g) {
            assertClose(scala.jdk.javaapi.CollectionConverters.asJava(e), scala.jdk.javaapi.CollectionConverters.asJava(g), path);
        } else if (expected instanceof Vector e && got instanceof Vector g) {
            assertArrayEquals(e.toArray(), g.toArray(), TOLERANCE, path);
        } else if (expected instanceof List<?> e && got instanceof List<?> g) {
            assertEquals(e.size(), g.size(), path);
            for (int i = 0; i < e.size(); i++) {
                assertClose(e.get(i), g.get(i), path + "[" + i + "]");
            }
        } else if (expected instanceof Float e && got instanceof Float g) {
            assertEquals(e, g, TOLERANCE, path);
        } else {
            assertEquals(expected, got, path);
        }
    }

    @Test
    void sqlFunctionsGiveWhatTheStagesGive() {
        String embedModel = LocalSpark.golden("feature-extraction-bert");
        String classifyModel = LocalSpark.golden("text-classification-bert");
        Jformers.register(LocalSpark.session(), embedModel, classifyModel);
        Dataset<Row> df = LocalSpark.texts(Arrays.asList("The weather today is terrible.", null), 1);
        df.createOrReplaceTempView("docs");
        List<Row> sql = LocalSpark.byId(LocalSpark.session()
                .sql("SELECT id, jformers_embed(text) AS v, jformers_classify(text) AS c FROM docs"));
        List<Row> stages = LocalSpark.byId(new TextClassifier().setModel(classifyModel).setOutputCol("c").transform(
                new SentenceEmbedder().setModel(embedModel).setOutputType("array").setOutputCol("v").transform(df)));
        assertArrayEquals(toFloats(stages.get(0).getList(2)), toFloats(sql.get(0).getList(1)), 1e-5f);
        assertEquals(stages.get(0).getStruct(3).getString(0), sql.get(0).getStruct(2).getString(0));
        assertEquals(stages.get(0).getStruct(3).getFloat(1), sql.get(0).getStruct(2).getFloat(1), TOLERANCE);
        assertNull(sql.get(1).get(1));
        assertNull(sql.get(1).get(2));
    }
}
