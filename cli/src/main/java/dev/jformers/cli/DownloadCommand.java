package dev.jformers.cli;

import dev.jformers.loaders.hub.HubClient;
import dev.jformers.loaders.hub.HubEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code jformers download MODEL_ID}: fetches config.json, the tokenizer files and the weights of a
 * Hugging Face model into the shared HF cache (the one Python's huggingface_hub uses) and prints
 * the snapshot folder.
 */
@Command(name = "download", mixinStandardHelpOptions = true,
        description = {"Download a model from the Hugging Face Hub into the HF cache and print its folder.",
                "Uses HF_HUB_CACHE / HF_HOME, HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE as huggingface_hub does; "
                        + "files already in the cache (from Python or jformers) are not downloaded again."})
final class DownloadCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL_ID", description = "a Hub model id: org/name, or a legacy one such as gpt2")
    String modelId;

    @Option(names = "--revision", paramLabel = "R", description = "branch, tag or commit hash (default: main)")
    String revision;

    @Option(names = "--cache-dir", paramLabel = "DIR", description = "the hub cache (default: $HF_HUB_CACHE or $HF_HOME/hub)")
    Path cacheDir;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        HubClient.Builder b = HubClient.builder(HubEnvironment.current());
        if (cacheDir != null) {
            b.cacheDir(cacheDir);
        }
        Path snapshot = b.build().snapshot(modelId, revision);
        spec.commandLine().getOut().println(snapshot);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
