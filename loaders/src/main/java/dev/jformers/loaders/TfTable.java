package dev.jformers.loaders;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Reads the sorted string table (LevelDB's table format, as TensorFlow uses it for a
 * checkpoint's {@code .index}) into memory: the 48-byte footer points at the index block,
 * whose entries point at data blocks; each block holds prefix-compressed key/value entries
 * followed by restart offsets, and is followed by a 5-byte trailer (compression type, masked
 * CRC32C). Only uncompressed blocks are supported (TensorBundle writes no other kind).
 */
final class TfTable {
    static final long MAGIC = 0xdb4775248b80fb57L;
    private static final int FOOTER = 48, TRAILER = 5;
    /** TensorFlow variable names are short; a key this long is a lie. */
    static final int MAX_KEY = 64 << 10;
    /** Decoded key bytes allowed for the whole table: 16 per index byte, at least 16 MiB. */
    private static final long KEY_BUDGET_PER_BYTE = 16, MIN_KEY_BUDGET = 16L << 20;

    private TfTable() {
    }

    /** TensorFlow's CRC mask: rotate right by 15 bits and add a constant. */
    static int mask(int crc) {
        return ((crc >>> 15) | (crc << 17)) + 0xa282ead8;
    }

    static int crc32c(MemorySegment s) {
        CRC32C c = new CRC32C();
        // Feed in chunks: a ByteBuffer view is limited to 2 GB.
        for (long p = 0; p < s.byteSize(); p += 1 << 30) {
            c.update(s.asSlice(p, Math.min(1 << 30, s.byteSize() - p)).asByteBuffer());
        }
        return (int) c.getValue();
    }

    /** All key/value pairs, keys as ISO-8859-1 strings (byte for byte), values as slices of {@code seg}. */
    static Map<String, MemorySegment> read(Path file, MemorySegment seg) {
        long size = seg.byteSize();
        if (size < FOOTER) {
            throw LoaderException.of(file, null, "table of " + size + " bytes is shorter than its footer");
        }
        if (seg.get(Le.I64, size - 8) != MAGIC) {
            throw LoaderException.of(file, null, "bad table magic number (not a TensorFlow checkpoint index)");
        }
        ProtoReader footer = new ProtoReader(file, "footer", seg.asSlice(size - FOOTER, FOOTER - 8));
        footer.varint();
        footer.varint(); // metaindex handle: unused by TensorBundle
        long indexOffset = footer.varint(), indexSize = footer.varint();
        MemorySegment index = block(file, seg, indexOffset, indexSize);
        Map<String, MemorySegment> out = new LinkedHashMap<>();
        // Prefix compression lets a few bytes spell a long key: decoded keys are budgeted, in all.
        long[] keyBudget = {Math.max(MIN_KEY_BUDGET, KEY_BUDGET_PER_BYTE * size)};
        for (Map.Entry<String, MemorySegment> e : entries(file, index, keyBudget).entrySet()) {
            ProtoReader h = new ProtoReader(file, "block handle", e.getValue());
            long off = h.varint(), len = h.varint();
            out.putAll(entries(file, block(file, seg, off, len), keyBudget));
        }
        return out;
    }

    /** A block's contents after checking bounds, compression type and CRC. */
    private static MemorySegment block(Path file, MemorySegment seg, long offset, long size) {
        if (offset < 0 || size < 0 || offset > seg.byteSize() || size > seg.byteSize() - offset - TRAILER) {
            throw LoaderException.of(file, null, "block [" + offset + ", +" + size + "] lies beyond the end of the index");
        }
        MemorySegment data = seg.asSlice(offset, size);
        int type = seg.get(ValueLayout.JAVA_BYTE, offset + size);
        if (type != 0) {
            throw LoaderException.of(file, null, "block at " + offset + " uses compression type " + type + " (only uncompressed is supported)");
        }
        int stored = seg.get(Le.I32, offset + size + 1);
        CRC32C c = new CRC32C();
        c.update(data.asByteBuffer());
        c.update(0);
        if (mask((int) c.getValue()) != stored) {
            throw LoaderException.of(file, null, "block at " + offset + " fails its CRC32C check");
        }
        return data;
    }

    private static Map<String, MemorySegment> entries(Path file, MemorySegment block, long[] keyBudget) {
        long size = block.byteSize();
        if (size < 4) {
            throw LoaderException.of(file, null, "block of " + size + " bytes has no restart count");
        }
        long restarts = block.get(Le.I32, size - 4) & 0xFFFFFFFFL;
        if (restarts > (size - 4) / 4) {
            throw LoaderException.of(file, null, "block claims " + restarts + " restart points in " + size + " bytes");
        }
        long limit = size - 4 - 4 * restarts;
        Map<String, MemorySegment> out = new LinkedHashMap<>();
        byte[] key = new byte[0];
        long pos = 0;
        while (pos < limit) {
            // Each entry: shared key bytes, unshared key bytes, value length (varints), key suffix, value.
            ProtoReader e = new ProtoReader(file, "table entry", block.asSlice(pos, limit - pos));
            long shared = e.varint(), unshared = e.varint(), valueLen = e.varint();
            long header = limit - pos - e.remaining();
            if (shared > key.length || unshared < 0 || valueLen < 0 || unshared > e.remaining() || valueLen > e.remaining() - unshared) {
                throw LoaderException.of(file, null, "corrupt table entry at block offset " + pos);
            }
            if (shared + unshared > MAX_KEY) {
                throw LoaderException.of(file, null, "table key of " + (shared + unshared) + " bytes at block offset " + pos
                        + " (at most " + MAX_KEY + ")");
            }
            keyBudget[0] -= shared + unshared;
            if (keyBudget[0] < 0) {
                throw LoaderException.of(file, null, "table keys decode to more bytes than an index of " + block.byteSize()
                        + "-byte blocks can hold plausibly (prefix-compression bomb?)");
            }
            byte[] k = Arrays.copyOf(key, (int) (shared + unshared));
            MemorySegment.copy(block, ValueLayout.JAVA_BYTE, pos + header, k, (int) shared, (int) unshared);
            key = k;
            out.put(new String(k, java.nio.charset.StandardCharsets.ISO_8859_1), block.asSlice(pos + header + unshared, valueLen));
            pos += header + unshared + valueLen;
        }
        return out;
    }
}
