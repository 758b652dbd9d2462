package dev.jformers.spark;

import dev.jformers.pipelines.Pipelines;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;

import java.util.Collections;

/**
 * SQL functions over the same per-executor models as the stages:
 * <pre>{@code
 * Jformers.register(spark);
 * spark.sql("SELECT id, jformers_embed(text) AS v, jformers_classify(text).label FROM docs");
 * }</pre>
 * {@code jformers_embed(text)} gives {@code array<float>} (mean-pooled, L2-normalised, as {@link SentenceEmbedder}
 * by default); {@code jformers_classify(text)} gives {@code struct<label, score>} (as {@link TextClassifier}). A null
 * text gives null. The models come from the Spark conf {@code spark.jformers.embed.model} (default
 * all-MiniLM-L6-v2) and {@code spark.jformers.classify.model}, or from {@link #register(SparkSession, String, String)}.
 * A SQL function sees one row at a time, so it runs one text per forward pass; the stages batch.
 */
public final class Jformers {
    /** Spark conf key of the embedding model. */
    public static final String EMBED_MODEL = "spark.jformers.embed.model";
    /** Spark conf key of the classification model. */
    public static final String CLASSIFY_MODEL = "spark.jformers.classify.model";

    private Jformers() {
    }

    /** Registers jformers_embed and jformers_classify with the models the session's conf names. */
    public static void register(SparkSession spark) {
        register(spark, spark.conf().get(EMBED_MODEL, Pipelines.defaultModel("feature-extraction")),
                spark.conf().get(CLASSIFY_MODEL, null));
    }

    /**
     * Registers jformers_embed (with {@code embedModel}) and jformers_classify (with {@code classifyModel}; null:
     * the function fails, saying which conf to set).
     */
    public static void register(SparkSession spark, String embedModel, String classifyModel) {
        TextFunction embed = new SentenceEmbedder().setModel(embedModel).setOutputType("array").textFunction();
        spark.udf().register("jformers_embed", one(embed), embed.outputType());
        TextFunction classify = classifyModel == null
                ? new TextClassifier.Classify(null, 0, false)
                : new TextClassifier().setModel(classifyModel).textFunction();
        spark.udf().register("jformers_classify", one(classify), classify.outputType());
    }

    private static UDF1<String, Object> one(TextFunction f) {
        return text -> {
            if (text == null) {
                return null;
            }
            if (f.key == null) {
                throw new IllegalStateException("jformers_classify: no model; set " + CLASSIFY_MODEL
                        + " or call Jformers.register(spark, embedModel, classifyModel)");
            }
            return f.apply(Collections.singletonList(text), 1).values()[0];
        };
    }
}
