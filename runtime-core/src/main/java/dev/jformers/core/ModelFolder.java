package dev.jformers.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Containment for files a model folder names. A folder is untrusted input (a cloned repository
 * keeps its symlinks): a {@code vocab.txt} or a weights shard that is a link to
 * {@code /etc/passwd} must not be read. A file is accepted only when its real path (every
 * symlink resolved) lies inside the folder's real path, or, for a snapshot folder of the Hugging
 * Face cache ({@code …/models--org--name/snapshots/<commit>/}, whose files are links by design),
 * inside that repository's {@code blobs/}.
 */
public final class ModelFolder {
    private ModelFolder() {
    }

    /**
     * Null when {@code file} (a path inside {@code folder}, which need not exist) may be read;
     * otherwise why not. A file that does not exist is accepted (the caller says it is missing),
     * and so is anything when the folder itself cannot be resolved.
     */
    public static String escape(Path folder, Path file) {
        if (!Files.exists(file)) {
            return null;
        }
        Path root, real;
        try {
            root = folder.toRealPath();
            real = file.toRealPath();
        } catch (IOException | SecurityException e) {
            return "cannot resolve its real path (" + e.getClass().getSimpleName() + ")";
        }
        if (real.startsWith(root)) {
            return null;
        }
        Path blobs = cacheBlobs(root);
        if (blobs != null && real.startsWith(blobs)) {
            return null;
        }
        // The target is not named: saying where a refused link points would leak the file system layout.
        return "is a link that leads outside the model folder " + folder + " (refused, nothing was read)";
    }

    /** Throws {@link JformersException} unless {@link #escape} accepts {@code file}. */
    public static Path require(Path folder, Path file) {
        String why = escape(folder, file);
        if (why != null) {
            throw new JformersException(file + ": " + why);
        }
        return file;
    }

    /** {@code …/models--x/blobs} when {@code root} is (inside) {@code …/models--x/snapshots/<commit>}, else null. */
    private static Path cacheBlobs(Path root) {
        for (Path p = root; p != null && p.getParent() != null; p = p.getParent()) {
            Path parent = p.getParent();
            if (parent.getFileName() != null && parent.getFileName().toString().equals("snapshots") && parent.getParent() != null) {
                Path blobs = parent.getParent().resolve("blobs");
                try {
                    return Files.isDirectory(blobs) ? blobs.toRealPath() : null;
                } catch (IOException e) {
                    return null;
                }
            }
        }
        return null;
    }
}
