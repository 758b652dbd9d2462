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

    /**
     * A forward pass that also computes the head's loss against {@code labels} (under {@code loss}, as HF's
     * {@code forward(..., labels=...)}); a model without a loss refuses labels. Null labels: {@link #forward}.
     */
    default ModelOutput forward(ModelInput input, Labels labels) {
        if (labels != null) {
            throw new dev.jformers.core.JformersException(modelClass() + " has no loss: call it without labels");
        }
        return forward(input);
    }

    /** The Hugging Face class this mirrors, e.g. "BertForMaskedLM". */
    default String modelClass() {
        return getClass().getSimpleName();
    }
}
