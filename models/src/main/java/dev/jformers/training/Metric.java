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

    Map<String, Double> compute();
}
