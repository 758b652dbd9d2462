package dev.jformers.models;

import dev.jformers.core.Backend;

import java.nio.file.Path;

/** HF {@code AutoModelForTokenClassification}: builds a token-classification model, chosen by config.json's {@code model_type}. */
public final class AutoModelForTokenClassification {
    private AutoModelForTokenClassification() {
    }

    /** From a model folder, on the default backend. */
    public static PreTrainedModel fromPretrained(Path dir) {
        return fromPretrained(dir, null);
    }

    /** From a model folder, on {@code backend}. */
    public static PreTrainedModel fromPretrained(Path dir, Backend backend) {
        return AutoModels.load(Task.TOKEN_CLASSIFICATION, dir, backend);
    }
}
