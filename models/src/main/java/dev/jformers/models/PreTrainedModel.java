package dev.jformers.models;

import dev.jformers.core.Backend;

/**
 * A loaded model: immutable, safe to share between threads (every call keeps its own
 * activations). Build one with the Auto classes, e.g. {@link AutoModelForMaskedLM#fromPretrained(String)}.
 *
 * <p>A model holds its weights in its backend's memory (the weight files are unmapped once it is built).
 * Close it when done: a backend the Auto class created for it (no backend was passed) is closed with it,
 * and its weights become garbage; a backend passed in by the caller stays open.
 */
public interface PreTrainedModel extends AutoCloseable {
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

    /** Closes the backend created for this model, if any; calling it again does nothing. */
    @Override
    default void close() {
        AutoModels.release(this);
    }

    /** The Hugging Face class this mirrors, e.g. "BertForMaskedLM". */
    default String modelClass() {
        return getClass().getSimpleName();
    }
}
