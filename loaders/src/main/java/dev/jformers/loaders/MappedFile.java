package dev.jformers.loaders;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Maps a whole file read-only into a caller-owned arena (closing the arena unmaps it). */
final class MappedFile {
    private MappedFile() {
    }

    static MemorySegment map(Path file, Arena arena) {
        if (!Files.isRegularFile(file)) {
            throw LoaderException.of(file, null, "not a regular file");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) {
                return MemorySegment.ofArray(new byte[0]);
            }
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (IOException e) {
            throw LoaderException.of(file, null, "cannot map: " + e.getMessage(), e);
        }
    }
}
