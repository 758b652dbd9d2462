package dev.jformers.cli;

import dev.jformers.core.JformersException;
import dev.jformers.loaders.hub.HubCache;
import dev.jformers.loaders.hub.HubEnvironment;
import dev.jformers.loaders.hub.RepoId;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code jformers cache list | rm MODEL_ID}: what the shared Hugging Face cache holds. */
@Command(name = "cache", mixinStandardHelpOptions = true,
        description = "List or remove the models in the Hugging Face cache (shared with Python's huggingface_hub).",
        subcommands = {CacheCommand.ListCommand.class, CacheCommand.RmCommand.class})
final class CacheCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }

    static HubCache cache(Path dir) {
        return new HubCache(dir != null ? dir : HubEnvironment.current().cacheDir());
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "One line per cached revision: repo id, revision (refs), commit, size on disk, snapshot folder.")
    static final class ListCommand implements Callable<Integer> {
        @Option(names = "--cache-dir", paramLabel = "DIR", description = "the hub cache (default: $HF_HUB_CACHE or $HF_HOME/hub)")
        Path cacheDir;

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            HubCache cache = cache(cacheDir);
            List<HubCache.CachedRepo> repos = cache.list();
            if (repos.isEmpty()) {
                out.println("no models in " + cache.root());
                listMavenCopies(out);
                out.flush();
                return 0;
            }
            int idWidth = Math.max(7, repos.stream().mapToInt(r -> r.repoId().length()).max().orElse(0));
            String format = "%-" + idWidth + "s  %-12s  %-40s  %9s  %s%n";
            out.printf(format, "REPO ID", "REVISION", "COMMIT", "SIZE", "PATH");
            long total = 0;
            for (HubCache.CachedRepo r : repos) {
                total += r.size();
                if (r.revisions().isEmpty()) {
                    out.printf(format, r.repoId(), "-", "-", HubCache.humanSize(r.size()), r.path());
                }
                for (HubCache.CachedRevision rev : r.revisions()) {
                    String refs = rev.refs().isEmpty() ? "(detached)" : String.join(",", rev.refs());
                    out.printf(format, r.repoId(), refs, rev.commit(), HubCache.humanSize(rev.size()), rev.path());
                }
            }
            out.printf("%d model%s, %s on disk in %s%n", repos.size(), repos.size() == 1 ? "" : "s",
                    HubCache.humanSize(total), cache.root());
            listMavenCopies(out);
            out.flush();
            return 0;
        }

        /** The models unpacked from Maven artifacts (jformers' own cache, not the Hugging Face one). */
        static void listMavenCopies(PrintWriter out) {
            List<String> ids = dev.jformers.models.hub.MavenModels.ids().stream()
                    .filter(id -> java.nio.file.Files.isRegularFile(dev.jformers.models.hub.MavenModels.unpackedDir(id).resolve(".complete")))
                    .toList();
            if (ids.isEmpty()) {
                return;
            }
            out.println("unpacked from Maven artifacts (" + dev.jformers.models.hub.MavenModels.cacheDir().resolve("models") + "):");
            for (String id : ids) {
                Path dir = dev.jformers.models.hub.MavenModels.unpackedDir(id);
                long size;
                try (var files = java.nio.file.Files.walk(dir)) {
                    size = files.filter(java.nio.file.Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
                } catch (java.io.IOException e) {
                    size = 0;
                }
                out.printf("%-40s  %9s  %s%n", id, HubCache.humanSize(size), dir);
            }
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true,
            description = "Remove a model (all its revisions, blobs and lock files), or one revision of it, from the cache.")
    static final class RmCommand implements Callable<Integer> {
        @Parameters(paramLabel = "MODEL_ID", description = "the model id, as 'cache list' shows it")
        String modelId;

        @Option(names = "--revision", paramLabel = "R",
                description = "remove only this revision (branch, tag or commit) and the blobs only it uses")
        String revision;

        @Option(names = "--cache-dir", paramLabel = "DIR", description = "the hub cache (default: $HF_HUB_CACHE or $HF_HOME/hub)")
        Path cacheDir;

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            HubCache cache = cache(cacheDir);
            RepoId repo = new RepoId(modelId);
            if (revision != null) {
                String commit = cache.remove(repo, revision);
                if (commit == null) {
                    throw new JformersException("revision '" + revision + "' of '" + modelId + "' is not in the cache "
                            + cache.root() + " (see 'jformers cache list')");
                }
                spec.commandLine().getOut().println("removed " + cache.snapshotDir(repo, commit));
                spec.commandLine().getOut().flush();
                return 0;
            }
            Path dir = cache.repoDir(repo);
            if (!cache.remove(repo)) {
                throw new JformersException("'" + modelId + "' is not in the cache " + cache.root() + " (see 'jformers cache list')");
            }
            spec.commandLine().getOut().println("removed " + dir);
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
