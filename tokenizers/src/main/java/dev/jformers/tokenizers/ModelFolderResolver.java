package dev.jformers.tokenizers;

import java.nio.file.Path;

/**
 * Turns a model id into a local model folder for {@link AutoTokenizer#fromPretrained(String)}. This module
 * knows only folders; {@code jformers-models} registers the resolver the Auto classes and the command line
 * use (folder, Hugging Face cache and Hub, Maven-packaged models) through {@link java.util.ServiceLoader}.
 */
public interface ModelFolderResolver {
    /** The local folder for {@code idOrPath}; throws a one-line exception naming what was tried. */
    Path resolve(String idOrPath);
}
