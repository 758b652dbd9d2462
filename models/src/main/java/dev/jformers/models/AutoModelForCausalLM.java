package dev.jformers.models;

import dev.jformers.core.Backend;

import java.nio.file.Path;

/** HF {@code AutoModelForCausalLM}: builds a causal-LM model (GPT2LMHeadModel, RobertaForCausalLM, BertLMHeadModel), chosen by config.json's {@code model_type}. */
public final class AutoModelForCausalLM {
    private AutoModelForCausalLM() {
    }

    /** From a model folder, on the default backend. */
    public static PreTrainedModel fromPretrained(Path dir) {
        return fromPretrained(dir, null);
    }

    /** From a model folder, on {@code backend}. */
    public static PreTrainedModel fromPretrained(Path dir, Backend backend) {
        return AutoModels.load(Task.CAUSAL_LM, dir, backend);
    }
}
