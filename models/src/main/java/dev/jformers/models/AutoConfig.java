package dev.jformers.models;

import java.nio.file.Path;

/** HF {@code AutoConfig}: config.json typed by its {@code model_type}. */
public final class AutoConfig {
    private AutoConfig() {
    }

    /** The config.json of a model folder or id (resolved as {@link AutoModel#fromPretrained(String)} does). */
    public static PretrainedConfig fromPretrained(String idOrPath) {
        return PretrainedConfig.fromPretrained(dev.jformers.models.hub.ModelResolver.resolve(idOrPath));
    }

    /** The config.json of a model folder. */
    public static PretrainedConfig fromPretrained(Path dir) {
        return PretrainedConfig.fromPretrained(dir);
    }
}
