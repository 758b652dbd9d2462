package dev.jformers.training;

import dev.jformers.models.Labels;
import dev.jformers.models.ModelInput;

/** One collated batch: the model's inputs, the targets of its loss, and how many rows it holds. */
public record Batch(ModelInput input, Labels labels, int size) {
}
