package dev.jformers.training;

import dev.jformers.models.ModelOutput;

import java.util.Map;

/**
 * Hugging Face's {@code compute_metrics}, batch by batch: the Trainer feeds every evaluation batch with the
 * model's output, then asks for the metrics (without the "eval_" prefix, which the Trainer adds). A fresh
 * instance per evaluation.
 */
public interface Metric {
    void add(Batch batch, ModelOutput output);

    /** With the batch's feature rows too (question answering maps spans back to text through their offsets). */
    default void add(java.util.List<com.fasterxml.jackson.databind.node.ObjectNode> rows, Batch batch, ModelOutput output) {
        add(batch, output);
    }

    Map<String, Double> compute();
}
