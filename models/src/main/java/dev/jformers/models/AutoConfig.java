package dev.jformers.models;

import java.nio.file.Path;

/** HF {@code AutoConfig}: config.json typed by its {@code model_type}. */
public final class AutoConfig {
    private AutoConfig() {
    }

    public static PretrainedConfig fromPretrained(Path dir) {
        return PretrainedConfig.fromPretrained(dir);
    }
}
