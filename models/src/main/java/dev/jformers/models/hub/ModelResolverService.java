package dev.jformers.models.hub;

import dev.jformers.tokenizers.ModelFolderResolver;

import java.nio.file.Path;

/** {@link ModelResolver} offered to {@code AutoTokenizer.fromPretrained(String)}, found through ServiceLoader. */
public final class ModelResolverService implements ModelFolderResolver {
    /** Called by ServiceLoader. */
    public ModelResolverService() {
    }

    @Override
    public Path resolve(String idOrPath) {
        return ModelResolver.resolve(idOrPath);
    }
}
