package dev.jformers.models;

import dev.jformers.core.Backend;

/**
 * A loaded model: immutable, safe to share between threads (every call keeps its own
 * activations). Build one with the Auto classes, e.g. {@link AutoModelForMaskedLM#fromPretrained}.
 */
public interface PreTrainedModel {
    PretrainedConfig config();

    Backend backend();

    /** One forward pass; outputs come back on the host under Hugging Face's names. */
    ModelOutput forward(ModelInput input);

    /** The Hugging Face class this mirrors, e.g. "BertForMaskedLM". */
    default String modelClass() {
        return getClass().getSimpleName();
    }
}
