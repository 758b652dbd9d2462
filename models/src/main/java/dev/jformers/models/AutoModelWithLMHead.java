package dev.jformers.models;

import dev.jformers.core.Backend;

import java.nio.file.Path;

/** HF {@code AutoModelWithLMHead}: builds a model with a language-modelling head (HF's deprecated class: masked LM for encoders, GPT2LMHeadModel for GPT-2), chosen by config.json's {@code model_type}. */
public final class AutoModelWithLMHead {
    private AutoModelWithLMHead() {
    }

    /** From a model folder, on the default backend. */
    public static PreTrainedModel fromPretrained(Path dir) {
        return fromPretrained(dir, null);
    }

    /** From a model folder, on {@code backend}. */
    public static PreTrainedModel fromPretrained(Path dir, Backend backend) {
        return AutoModels.load(Task.WITH_LM_HEAD, dir, backend);
    }
}
