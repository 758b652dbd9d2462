package dev.jformers.models.hub;

import dev.jformers.core.JformersException;
import dev.jformers.loaders.hub.HubClient;
import dev.jformers.loaders.hub.HubException;
import dev.jformers.loaders.hub.RepoId;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a model argument into a local model folder, trying in order:
 * <ol>
 *   <li>a local directory, as it is;</li>
 *   <li>a Hugging Face model id ({@code org/name} or a legacy {@code gpt2}) in the shared HF cache,
 *       downloading from the Hub what the cache lacks ({@link HubClient}, configured like
 *       huggingface_hub: {@code HF_HUB_CACHE}, {@code HF_HOME}, {@code HF_ENDPOINT}, {@code HF_TOKEN},
 *       {@code HF_HUB_OFFLINE}, or the system properties {@code jformers.hf.*});</li>
 *   <li>a public model that a Maven artifact carries ({@link MavenModels}), when the Hub cannot
 *       supply it (offline, unreachable, or unknown there);</li>
 * </ol>
 * and otherwise fails with one line naming what was tried.
 */
public final class ModelResolver {
    private ModelResolver() {
    }

    /** A local folder holding config.json (and weights, tokenizer files) for {@code model}. */
    public static Path resolve(String model) {
        return resolve(model, null);
    }

    /** As {@link #resolve(String)}, at a Hub revision (branch, tag or commit; null: {@code main}). */
    public static Path resolve(String model, String revision) {
        return resolve(model, revision, null);
    }

    /**
     * As {@link #resolve(String, String)} with the given Hub client (null: one configured from the
     * environment, created only when the Hub is asked).
     */
    public static Path resolve(String model, String revision, HubClient hub) {
        if (model == null || model.isBlank()) {
            throw new JformersException("no model given");
        }
        List<String> tried = new ArrayList<>();
        try {
            Path local = Path.of(model);
            if (Files.isDirectory(local)) {
                return local;
            }
            tried.add("no folder " + local.toAbsolutePath().normalize());
        } catch (InvalidPathException e) {
            tried.add("not a path");
        }
        boolean defaultRevision = revision == null || revision.isBlank() || revision.equals(HubClient.DEFAULT_REVISION);
        boolean maven = defaultRevision && MavenModels.knows(model);
        String invalid = RepoId.whyInvalid(model);
        if (invalid == null) {
            HubClient client = hub != null ? hub : HubClient.fromEnvironment();
            try {
                return client.snapshot(model, revision);
            } catch (HubException e) {
                tried.add("Hugging Face Hub: " + e.getMessage());
                if (e.reason() == HubException.Reason.INTEGRITY) {
                    throw failure(model, tried, null, e);     // a corrupt download is not to be papered over
                }
            }
        } else {
            tried.add("not a Hugging Face model id (" + invalid + ")");
        }
        if (maven) {
            try {
                return MavenModels.fetch(model);
            } catch (JformersException e) {
                throw failure(model, tried, e.getMessage(), e);
            }
        }
        throw failure(model, tried, MavenModels.knows(model)
                ? "Maven carries it only at revision main"
                : "no Maven artifact carries it (models available through Maven: " + String.join(", ", MavenModels.ids()) + ")",
                null);
    }

    private static JformersException failure(String model, List<String> tried, String maven, Throwable cause) {
        return new JformersException(("model '" + model + "' cannot be found: " + String.join("; ", tried)
                + (maven == null ? "" : "; " + maven)
                + "; or give a model folder (config.json, weights, tokenizer files)").replace('\n', ' '), cause);
    }
}
