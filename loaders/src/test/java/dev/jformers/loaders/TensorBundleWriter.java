package dev.jformers.loaders;

import dev.jformers.core.DType;
import dev.jformers.core.Tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * Test-only writer of TensorFlow's TensorBundle checkpoint format, following TensorFlow's
 * layout: {@code PREFIX.data-00000-of-00001} holds the tensors back to back;
 * {@code PREFIX.index} is a LevelDB-style table (data blocks of prefix-compressed entries
 * with a restart point every 16 keys, each block followed by a compression byte and a masked
 * CRC32C; an index block with one restart per entry; an empty metaindex block; a 48-byte
 * footer ending in the table magic). Keys are sorted bytewise; the empty key holds the
 * BundleHeaderProto, every other key a BundleEntryProto.
 */
final class TensorBundleWriter {
    private TensorBundleWriter() {
    }

    static int dtypeCode(DType d) {
        return switch (d) {
            case F32 -> 1;
            case F64 -> 2;
            case I32 -> 3;
            case U8 -> 4;
            case I16 -> 5;
            case I8 -> 6;
            case I64 -> 9;
            case BOOL -> 10;
            case BF16 -> 14;
            case F16 -> 19;
        };
    }

    /** Writes {@code tensors} (TF names) as a one-shard checkpoint at {@code prefix}; blockSize bounds data blocks. */
    static void write(Path prefix, Map<String, Tensor> tensors, int blockSize) throws IOException {
        TreeMap<String, byte[]> entries = new TreeMap<>(); // String order = bytewise order for ASCII names
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue().contiguous();
            int es = t.dtype().byteSize();
            byte[] bytes = t.segment().asSlice(t.offset() * es, t.numel() * es).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            CRC32C crc = new CRC32C();
            crc.update(bytes);
            Proto entry = new Proto();
            entry.varint(1, dtypeCode(t.dtype()));
            Proto shape = new Proto();
            for (int d : t.shape()) {
                shape.message(2, new Proto().varint(1, d));
            }
            entry.message(2, shape);
            entry.varint(4, data.size());
            entry.varint(5, bytes.length);
            entry.fixed32(6, TfTable.mask((int) crc.getValue()));
            entries.put(e.getKey(), entry.bytes());
            data.write(bytes);
        }
        Proto header = new Proto().varint(1, 1).message(3, new Proto().varint(1, 1));
        entries.put("", header.bytes());
        Files.write(Path.of(prefix + ".data-00000-of-00001"), data.toByteArray());
        Files.write(Path.of(prefix + ".index"), table(entries, blockSize));
    }

    /** A LevelDB table of sorted entries. */
    static byte[] table(TreeMap<String, byte[]> entries, int blockSize) {
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        List<String> lastKeys = new ArrayList<>();
        List<long[]> handles = new ArrayList<>();
        BlockBuilder block = new BlockBuilder(16);
        String last = null;
        for (Map.Entry<String, byte[]> e : entries.entrySet()) {
            block.add(e.getKey().getBytes(StandardCharsets.UTF_8), e.getValue());
            last = e.getKey();
            if (block.size() >= blockSize) {
                handles.add(writeBlock(file, block.finish()));
                lastKeys.add(last);
                block = new BlockBuilder(16);
            }
        }
        if (!block.empty()) {
            handles.add(writeBlock(file, block.finish()));
            lastKeys.add(last);
        }
        long[] meta = writeBlock(file, new BlockBuilder(16).finish());
        BlockBuilder index = new BlockBuilder(1);
        for (int i = 0; i < handles.size(); i++) {
            index.add(lastKeys.get(i).getBytes(StandardCharsets.UTF_8), new Proto().rawVarint(handles.get(i)[0]).rawVarint(handles.get(i)[1]).bytes());
        }
        return footer(file, meta, writeBlock(file, index.finish()));
    }

    /** A table whose one data block holds {@code contents} as given (entries and restarts already encoded). */
    static byte[] tableWithRawBlock(byte[] contents) {
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        long[] data = writeBlock(file, contents);
        long[] meta = writeBlock(file, new BlockBuilder(16).finish());
        BlockBuilder index = new BlockBuilder(1);
        index.add(new byte[] {(byte) 0xFF}, new Proto().rawVarint(data[0]).rawVarint(data[1]).bytes());
        return footer(file, meta, writeBlock(file, index.finish()));
    }

    /** Appends the 48-byte footer (metaindex and index handles, magic) and returns the whole table. */
    private static byte[] footer(ByteArrayOutputStream file, long[] meta, long[] idx) {
        byte[] handlesBytes = new Proto().rawVarint(meta[0]).rawVarint(meta[1]).rawVarint(idx[0]).rawVarint(idx[1]).bytes();
        ByteBuffer footer = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
        footer.put(handlesBytes);
        footer.position(40);
        footer.putLong(TfTable.MAGIC);
        file.writeBytes(footer.array());
        return file.toByteArray();
    }

    /** Appends a block and its trailer; returns {offset, size} of the block contents. */
    private static long[] writeBlock(ByteArrayOutputStream file, byte[] contents) {
        long offset = file.size();
        file.writeBytes(contents);
        CRC32C crc = new CRC32C();
        crc.update(contents);
        crc.update(0);
        ByteBuffer trailer = ByteBuffer.allocate(5).order(ByteOrder.LITTLE_ENDIAN);
        trailer.put((byte) 0).putInt(TfTable.mask((int) crc.getValue()));
        file.writeBytes(trailer.array());
        return new long[] {offset, contents.length};
    }

    /** Prefix-compressed entries with restart points every {@code interval} keys. */
    static final class BlockBuilder {
        private final int interval;
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
        private final List<Integer> restarts = new ArrayList<>(List.of(0));
        private byte[] lastKey = new byte[0];
        private int count;

        BlockBuilder(int interval) {
            this.interval = interval;
        }

        void add(byte[] key, byte[] value) {
            int shared = 0;
            if (count % interval == 0) {
                if (count > 0) {
                    restarts.add(buf.size());
                }
            } else {
                while (shared < Math.min(key.length, lastKey.length) && key[shared] == lastKey[shared]) {
                    shared++;
                }
            }
            Proto p = new Proto().rawVarint(shared).rawVarint(key.length - shared).rawVarint(value.length);
            buf.writeBytes(p.bytes());
            buf.write(key, shared, key.length - shared);
            buf.writeBytes(value);
            lastKey = key;
            count++;
        }

        boolean empty() {
            return count == 0;
        }

        int size() {
            return buf.size();
        }

        byte[] finish() {
            ByteBuffer r = ByteBuffer.allocate(4 * restarts.size() + 4).order(ByteOrder.LITTLE_ENDIAN);
            restarts.forEach(r::putInt);
            r.putInt(restarts.size());
            buf.writeBytes(r.array());
            return buf.toByteArray();
        }
    }

    /** A tiny protobuf encoder. */
    static final class Proto {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Proto rawVarint(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
            return this;
        }

        Proto tag(int field, int wire) {
            return rawVarint((long) field << 3 | wire);
        }

        Proto varint(int field, long v) {
            return tag(field, 0).rawVarint(v);
        }

        Proto fixed32(int field, int v) {
            tag(field, 5);
            for (int i = 0; i < 4; i++) {
                out.write((v >>> (8 * i)) & 0xFF);
            }
            return this;
        }

        Proto bytes(int field, byte[] b) {
            tag(field, 2).rawVarint(b.length);
            out.writeBytes(b);
            return this;
        }

        Proto string(int field, String s) {
            return bytes(field, s.getBytes(StandardCharsets.UTF_8));
        }

        Proto message(int field, Proto m) {
            return bytes(field, m.bytes());
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
