package dev.jformers.core;

import java.lang.foreign.MemorySegment;

/**
 * Where a tensor's bytes live. Host storage is a {@link MemorySegment} (heap, native or a
 * memory-mapped file); a device backend supplies its own implementation for device memory.
 */
public interface Storage {
    /** Size in bytes. */
    long byteSize();

    /** True when {@link #segment()} may be called. */
    boolean isHost();

    /** The bytes on the host; device storage throws. */
    MemorySegment segment();

    /** Host storage over a segment. */
    record Host(MemorySegment segment) implements Storage {
        @Override
        public long byteSize() {
            return segment.byteSize();
        }

        @Override
        public boolean isHost() {
            return true;
        }
    }
}
