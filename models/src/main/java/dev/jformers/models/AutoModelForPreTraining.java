package dev.jformers.models;

import dev.jformers.core.Backend;

import java.nio.file.Path;

/** HF {@code AutoModelForPreTraining}: builds the pre-training model (BertForPreTraining, …ForMaskedLM, GPT2LMHeadModel), chosen by config.json's {@code model_type}. */
public final class AutoModelForPreTraining {
    private AutoModelForPreTraining() {
    }

    /**
     * From a model folder or a model id, resolved as the command line resolves {@code --model}: a folder, then
     * the Hugging Face cache and Hub, then the models Maven artifacts carry; on a backend of the model's own
     * (closed with the model).
     */
    public static PreTrainedModel fromPretrained(String idOrPath) {
        return fromPretrained(idOrPath, null);
    }

    /** From a model folder or id on {@code backend} (null: one of the model's own). */
    public static PreTrainedModel fromPretrained(String idOrPath, Backend backend) {
        return AutoModels.load(Task.PRETRAINING, idOrPath, backend);
    }

    /** From a model folder, on the default backend. */
    public static PreTrainedModel fromPretrained(Path dir) {
        return fromPretrained(dir, null);
    }

    /** From a model folder, on {@code backend}. */
    public static PreTrainedModel fromPretrained(Path dir, Backend backend) {
        return AutoModels.load(Task.PRETRAINING, dir, backend);
    }
}
