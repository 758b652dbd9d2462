package dev.jformers.loaders.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jformers.core.JsonErrors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The Hugging Face hub cache, in huggingface_hub's layout, so that Python and jformers share it:
 * <pre>
 * ROOT/models--org--name/
 *     blobs/ETAG                       file contents, named by ETag (git sha1, or sha256 for LFS files)
 *     refs/REVISION                    the commit hash a branch or tag pointed at (no newline)
 *     snapshots/COMMIT/FILE            → ../../blobs/ETAG (relative symlink)
 *     .no_exist/COMMIT/FILE            empty: FILE is known to be absent at COMMIT
 * ROOT/.locks/models--org--name/ETAG.lock
 * </pre>
 */
public final class HubCache {
    /** Created on first use: most lookups parse no JSON. */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    private final Path root;

    public HubCache(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    public Path repoDir(RepoId repo) {
        return root.resolve(repo.folderName());
    }

    Path blob(RepoId repo, String etag) {
        return repoDir(repo).resolve("blobs").resolve(etag);
    }

    Path lockFile(RepoId repo, String etag) {
        return root.resolve(".locks").resolve(repo.folderName()).resolve(etag + ".lock");
    }

    public Path snapshotDir(RepoId repo, String commit) {
        return repoDir(repo).resolve("snapshots").resolve(commit);
    }

    Path pointer(RepoId repo, String commit, String file) {
        return snapshotDir(repo, commit).resolve(file);
    }

    Path noExist(RepoId repo, String commit, String file) {
        return repoDir(repo).resolve(".no_exist").resolve(commit).resolve(file);
    }

    /** The commit {@code refs/REVISION} holds; null when there is no such ref. */
    public String readRef(RepoId repo, String revision) {
        Path ref = repoDir(repo).resolve("refs").resolve(revision);
        try {
            if (!Files.isRegularFile(ref)) {
                return null;
            }
            String commit = Files.readString(ref).strip();
            return commit.isEmpty() ? null : commit;
        } catch (IOException e) {
            return null;
        }
    }

    /** Writes {@code refs/REVISION} (the commit, no newline), atomically, when it changed. */
    void writeRef(RepoId repo, String revision, String commit) throws IOException {
        if (commit.equals(readRef(repo, revision))) {
            return;
        }
        Path ref = repoDir(repo).resolve("refs").resolve(revision);
        Files.createDirectories(ref.getParent());
        Path tmp = Files.createTempFile(ref.getParent(), ".ref", ".tmp");
        Files.writeString(tmp, commit);
        moveReplacing(tmp, ref);
    }

    static void moveReplacing(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (java.nio.file.AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Records that {@code file} does not exist at {@code commit} (as huggingface_hub does). */
    void markNoExist(RepoId repo, String commit, String file) {
        try {
            Path marker = noExist(repo, commit, file);
            Files.createDirectories(marker.getParent());
            if (!Files.exists(marker)) {
                Files.createFile(marker);
            }
        } catch (IOException e) {
            // only a hint for later lookups
        }
    }

    boolean knownMissing(RepoId repo, String commit, String file) {
        return Files.exists(noExist(repo, commit, file));
    }

    /**
     * Makes {@code snapshots/COMMIT/FILE} a relative symlink to the blob (a copy where the file
     * system has no symlinks). A pointer already there, or made meanwhile by another thread, is kept.
     */
    void link(Path blob, Path pointer) throws IOException {
        Files.createDirectories(pointer.getParent());
        if (Files.isSymbolicLink(pointer) && !Files.exists(pointer)) {
            Files.delete(pointer);      // dangling: its blob was removed
        }
        if (Files.exists(pointer)) {
            return;
        }
        Path relative = pointer.getParent().relativize(blob);
        try {
            Files.createSymbolicLink(pointer, relative);
        } catch (FileAlreadyExistsException e) {
            // made by someone else meanwhile
        } catch (UnsupportedOperationException | FileSystemException e) {
            Path tmp = Files.createTempFile(pointer.getParent(), ".copy", ".tmp");
            Files.copy(blob, tmp, StandardCopyOption.REPLACE_EXISTING);
            moveReplacing(tmp, pointer);
        }
    }

    /** The commit that {@code revision} stands for in the cache: itself for a commit hash, else its ref. */
    public String commitFor(RepoId repo, String revision) {
        return RepoId.isCommitHash(revision) ? revision : readRef(repo, revision);
    }

    /**
     * The snapshot folder for {@code revision} when it holds a usable model (config.json and one
     * complete weight format), else null.
     */
    public Path find(RepoId repo, String revision) {
        return missing(repo, revision).isEmpty() ? snapshotDir(repo, commitFor(repo, revision)) : null;
    }

    /** What the cache lacks for a usable snapshot of {@code revision}, in words (empty when nothing). */
    public List<String> missing(RepoId repo, String revision) {
        Path dir = repoDir(repo);
        if (!Files.isDirectory(dir)) {
            return List.of("no folder " + dir);
        }
        String commit = commitFor(repo, revision);
        if (commit == null) {
            return List.of("no ref " + dir.resolve("refs").resolve(revision) + " (revision '" + revision + "' was never downloaded)");
        }
        Path snap = snapshotDir(repo, commit);
        if (!Files.isDirectory(snap)) {
            return List.of("no snapshot folder " + snap);
        }
        List<String> lacks = new ArrayList<>();
        if (!Files.isRegularFile(snap.resolve("config.json"))) {
            lacks.add("config.json");
        }
        List<String> incomplete = null;      // the shards missing for the first index present
        boolean complete = false;
        for (String w : HubClient.WEIGHT_FILES) {
            if (!Files.isRegularFile(snap.resolve(w))) {
                continue;
            }
            List<String> shardsMissing = new ArrayList<>();
            if (w.endsWith(".index.json")) {
                for (String shard : shards(snap.resolve(w))) {
                    if (!Files.isRegularFile(snap.resolve(shard))) {
                        shardsMissing.add(shard + " (named by " + w + ")");
                    }
                }
            }
            if (shardsMissing.isEmpty()) {
                complete = true;
                break;
            }
            if (incomplete == null) {
                incomplete = shardsMissing;
            }
        }
        if (!complete) {
            lacks.addAll(incomplete != null ? incomplete : List.of("weights (one of " + String.join(", ", HubClient.WEIGHT_FILES) + ")"));
        }
        return lacks.isEmpty() ? List.of() : List.of(snap + " lacks " + String.join(", ", lacks));
    }

    /** The shard files a {@code *.index.json} names (its weight_map's values), sorted, checked to stay inside the snapshot. */
    static List<String> shards(Path index) {
        try {
            JsonNode root;
            try {
                root = Json.MAPPER.readTree(index.toFile());
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                throw new HubException(HubException.Reason.OTHER, JsonErrors.message(index, e));
            }
            JsonNode map = root == null ? null : root.get("weight_map");
            if (map == null || !map.isObject()) {
                throw new HubException(HubException.Reason.OTHER, index + ": no \"weight_map\" object");
            }
            Set<String> files = new TreeSet<>();
            for (JsonNode v : map) {
                String f = v.asText();
                if (f.isEmpty() || f.startsWith("/") || f.contains("\\") || Path.of(f).normalize().startsWith("..")
                        || List.of(f.split("/")).contains("..")) {
                    throw new HubException(HubException.Reason.OTHER, index + ": shard name '" + f + "' leaves the model folder");
                }
                files.add(f);
            }
            return List.copyOf(files);
        } catch (IOException e) {
            throw new HubException(HubException.Reason.OTHER, index + ": cannot read the shard index: " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- scanning and removing

    /** One cached revision: its commit, the refs pointing at it, its folder, files and size. */
    public record CachedRevision(String commit, List<String> refs, Path path, int files, long size) {
    }

    /** One cached model repository and its revisions; {@code size} counts each blob once. */
    public record CachedRepo(String repoId, Path path, long size, List<CachedRevision> revisions) {
    }

    /** Every model repository in the cache, sorted by id. */
    public List<CachedRepo> list() {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        List<CachedRepo> out = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
            for (Path dir : dirs) {
                String id = RepoId.fromFolderName(dir.getFileName().toString());
                if (id != null && Files.isDirectory(dir)) {
                    out.add(scan(id, dir));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.sort(Comparator.comparing(CachedRepo::repoId));
        return out;
    }

    private static CachedRepo scan(String id, Path dir) throws IOException {
        Map<String, List<String>> refsByCommit = new TreeMap<>();
        Path refs = dir.resolve("refs");
        if (Files.isDirectory(refs)) {
            try (Stream<Path> s = Files.walk(refs)) {
                for (Path ref : s.filter(Files::isRegularFile).sorted().toList()) {
                    String commit = Files.readString(ref).strip();
                    refsByCommit.computeIfAbsent(commit, k -> new ArrayList<>())
                            .add(refs.relativize(ref).toString().replace('\\', '/'));
                }
            }
        }
        List<CachedRevision> revisions = new ArrayList<>();
        Path snapshots = dir.resolve("snapshots");
        if (Files.isDirectory(snapshots)) {
            try (DirectoryStream<Path> snaps = Files.newDirectoryStream(snapshots)) {
                for (Path snap : snaps) {
                    if (!Files.isDirectory(snap)) {
                        continue;
                    }
                    long[] sizeAndCount = new long[2];
                    Set<Path> seen = new HashSet<>();
                    try (Stream<Path> s = Files.walk(snap)) {
                        for (Path f : s.filter(p -> !Files.isDirectory(p)).toList()) {
                            if (Files.exists(f) && seen.add(f.toRealPath())) {
                                sizeAndCount[0] += Files.size(f);
                            }
                            sizeAndCount[1]++;
                        }
                    }
                    String commit = snap.getFileName().toString();
                    revisions.add(new CachedRevision(commit, refsByCommit.getOrDefault(commit, List.of()), snap,
                            (int) sizeAndCount[1], sizeAndCount[0]));
                }
            }
        }
        revisions.sort(Comparator.comparing((CachedRevision r) -> r.refs().isEmpty()).thenComparing(CachedRevision::commit));
        return new CachedRepo(id, dir, sizeOf(dir), revisions);
    }

    /** Bytes under {@code dir}, symlinks not followed (so each blob counts once). */
    static long sizeOf(Path dir) throws IOException {
        long[] total = {0};
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (attrs.isRegularFile()) {
                    total[0] += attrs.size();
                }
                return FileVisitResult.CONTINUE;
            }
        });
        return total[0];
    }

    /** Deletes a repository's folder and its lock files; false when it was not cached. */
    public boolean remove(RepoId repo) {
        Path dir = repoDir(repo);
        boolean existed = Files.exists(dir, LinkOption.NOFOLLOW_LINKS);
        deleteTree(dir);
        deleteTree(root.resolve(".locks").resolve(repo.folderName()));
        return existed;
    }

    /**
     * Deletes one revision: its snapshot folder, the refs pointing at it, its {@code .no_exist}
     * markers and the blobs no other snapshot links to. Returns the commit removed, or null when
     * the revision was not cached.
     */
    public String remove(RepoId repo, String revision) {
        String commit = commitFor(repo, revision);
        Path dir = repoDir(repo);
        if (commit == null || !Files.isDirectory(snapshotDir(repo, commit))) {
            return null;
        }
        try {
            Set<Path> keep = new HashSet<>();
            Set<Path> drop = new HashSet<>();
            try (DirectoryStream<Path> snaps = Files.newDirectoryStream(dir.resolve("snapshots"))) {
                for (Path snap : snaps) {
                    boolean removed = snap.getFileName().toString().equals(commit);
                    try (Stream<Path> s = Files.walk(snap)) {
                        for (Path f : s.filter(Files::isSymbolicLink).toList()) {
                            Path blob = f.getParent().resolve(Files.readSymbolicLink(f)).normalize();
                            (removed ? drop : keep).add(blob);
                        }
                    }
                }
            }
            deleteTree(snapshotDir(repo, commit));
            deleteTree(dir.resolve(".no_exist").resolve(commit));
            for (Path blob : drop) {
                if (!keep.contains(blob) && blob.startsWith(dir.resolve("blobs"))) {
                    Files.deleteIfExists(blob);
                }
            }
            Path refs = dir.resolve("refs");
            if (Files.isDirectory(refs)) {
                try (Stream<Path> s = Files.walk(refs)) {
                    for (Path ref : s.filter(Files::isRegularFile).toList()) {
                        if (Files.readString(ref).strip().equals(commit)) {
                            Files.delete(ref);
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new HubException(HubException.Reason.OTHER, "cannot remove " + snapshotDir(repo, commit) + ": " + e.getMessage(), e);
        }
        return commit;
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new HubException(HubException.Reason.OTHER, "cannot delete " + dir + ": " + e.getMessage(), e);
        }
    }

    /** 1.2 GB, 340.5 MB, 12.0 KB, 17 B. */
    public static String humanSize(long bytes) {
        if (bytes < 1000) {
            return bytes + " B";
        }
        String[] units = {"KB", "MB", "GB", "TB"};
        double v = bytes;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
