package dev.jformers.models;

import dev.jformers.core.Backend;

import java.nio.file.Path;

/** HF {@code AutoModelForQuestionAnswering}: builds an extractive question-answering model, chosen by config.json's {@code model_type}. */
public final class AutoModelForQuestionAnswering {
    private AutoModelForQuestionAnswering() {
    }

    /** From a model folder, on the default backend. */
    public static PreTrainedModel fromPretrained(Path dir) {
        return fromPretrained(dir, null);
    }

    /** From a model folder, on {@code backend}. */
    public static PreTrainedModel fromPretrained(Path dir, Backend backend) {
        return AutoModels.load(Task.QUESTION_ANSWERING, dir, backend);
    }
}
