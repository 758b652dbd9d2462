package dev.jformers.loaders;

import dev.jformers.loaders.TensorBundleWriter.Proto;
import dev.jformers.loaders.TorchPickleTest.P;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Hand-made hostile files, one per way an adversarial pass found to hurt the loaders (issue 19).
 * Small on disk, each describes far more than it holds. {@link HostileLoadersTest} opens them;
 * {@link #main} writes them (and a few valid files) as the fuzzers' seed corpora.
 */
final class Hostile {
    private Hostile() {
    }

    // ------------------------------------------------------------------ zip

    /** A zip written entry by entry, with full control over what the directories claim. */
    static final class RawZip {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final ByteArrayOutputStream central = new ByteArrayOutputStream();
        private int count;

        /** A local header and its data; returns the header's offset. */
        long local(String name, int method, byte[] data, long size, int crc) {
            long at = out.size();
            byte[] n = name.getBytes(StandardCharsets.UTF_8);
            ByteBuffer h = le(30).putInt(0x04034b50).putShort((short) 20).putShort((short) 0).putShort((short) method)
                    .putInt(0).putInt(crc).putInt(data.length).putInt((int) size).putShort((short) n.length).putShort((short) 0);
            out.writeBytes(h.array());
            out.writeBytes(n);
            out.writeBytes(data);
            return at;
        }

        /** A central-directory entry pointing at {@code offset}. */
        RawZip central(String name, int method, long compressed, long size, int crc, long offset) {
            byte[] n = name.getBytes(StandardCharsets.UTF_8);
            ByteBuffer c = le(46).putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0)
                    .putShort((short) method).putInt(0).putInt(crc).putInt((int) compressed).putInt((int) size)
                    .putShort((short) n.length).putShort((short) 0).putShort((short) 0).putShort((short) 0)
                    .putShort((short) 0).putInt(0).putInt((int) offset);
            central.writeBytes(c.array());
            central.writeBytes(n);
            count++;
            return this;
        }

        /** A local entry and its central entry. */
        RawZip entry(String name, int method, byte[] data, long size, int crc) {
            long at = local(name, method, data, size, crc);
            return central(name, method, data.length, size, crc, at);
        }

        RawZip stored(String name, byte[] data) {
            return entry(name, 0, data, data.length, crc(data));
        }

        byte[] finish() {
            long cd = out.size();
            out.writeBytes(central.toByteArray());
            ByteBuffer e = le(22).putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) count)
                    .putShort((short) count).putInt(central.size()).putInt((int) cd).putShort((short) 0);
            out.writeBytes(e.array());
            return out.toByteArray();
        }
    }

    static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    static int crc(byte[] data) {
        CRC32 c = new CRC32();
        c.update(data);
        return (int) c.getValue();
    }

    /** Raw deflate of {@code n} zero bytes (about 1 KB per MB), and the CRC-32 of those zeros. */
    static byte[] deflatedZeros(long n) {
        Deflater d = new Deflater(9, true);
        byte[] zeros = new byte[1 << 20];
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        for (long left = n; left > 0; ) {
            int k = (int) Math.min(zeros.length, left);
            d.setInput(zeros, 0, k);
            left -= k;
            while (!d.needsInput()) {
                out.write(buf, 0, d.deflate(buf));
            }
        }
        d.finish();
        while (!d.finished()) {
            out.write(buf, 0, d.deflate(buf));
        }
        d.end();
        return out.toByteArray();
    }

    static int crcOfZeros(long n) {
        CRC32 c = new CRC32();
        byte[] zeros = new byte[1 << 20];
        for (long left = n; left > 0; left -= zeros.length) {
            c.update(zeros, 0, (int) Math.min(zeros.length, left));
        }
        return (int) c.getValue();
    }

    /** torch's state dict pickle around {@code body}: OrderedDict() MARK … SETITEMS. */
    static byte[] stateDict(P body) {
        P p = new P().op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', 'q', 0).op('(');
        p.out.writeBytes(body.bytes());
        return p.op('u', '.').bytes();
    }

    /** A valid torch.save zip of one tensor "w" = [1.5, -2] (the seed the fuzzer starts from). */
    static byte[] validTorch() {
        byte[] pkl = stateDict(new P().tensor("w", "0", 2, 0, new int[] {2}, new int[] {1}));
        return new RawZip().stored("archive/data.pkl", pkl).stored("archive/byteorder", "little".getBytes(StandardCharsets.US_ASCII))
                .stored("archive/data/0", le(8).putFloat(1.5f).putFloat(-2f).array()).finish();
    }

    /**
     * Item 2: sixteen storages whose directory entries all point at one deflate stream of
     * {@code zeros} bytes (the pickle claims each storage that large).
     */
    static byte[] sharedDeflateBomb(long zeros) {
        P body = new P();
        for (int i = 0; i < 16; i++) {
            body.tensor("w" + i, Integer.toString(i), (int) (zeros / 4), 0, new int[] {(int) (zeros / 4)}, new int[] {1});
        }
        RawZip z = new RawZip().stored("archive/data.pkl", stateDict(body));
        byte[] stream = deflatedZeros(zeros);
        int crc = crcOfZeros(zeros);
        long at = z.local("archive/data/0", 8, stream, zeros, crc);
        for (int i = 0; i < 16; i++) {
            z.central("archive/data/" + i, 8, stream.length, zeros, crc, at);
        }
        return z.finish();
    }

    /** Item 2: a byteorder entry that inflates to {@code zeros} bytes. */
    static byte[] byteorderBomb(long zeros) {
        byte[] pkl = stateDict(new P().tensor("w", "0", 2, 0, new int[] {2}, new int[] {1}));
        return new RawZip().stored("archive/data.pkl", pkl)
                .entry("archive/byteorder", 8, deflatedZeros(zeros), zeros, crcOfZeros(zeros))
                .stored("archive/data/0", new byte[8]).finish();
    }

    /**
     * Item 2: a deflated storage whose directory claims 1 MB for a tensor of 8 bytes (the claimed
     * size used to be allocated before a byte arrived); its "stream" is never inflated.
     */
    static byte[] storageClaimsMore() {
        byte[] pkl = stateDict(new P().tensor("w", "0", 2, 0, new int[] {2}, new int[] {1}));
        return new RawZip().stored("archive/data.pkl", pkl)
                .entry("archive/data/0", 8, new byte[1024], 1L << 20, 0).finish();
    }

    /** A deflated storage of {@code floats} zeros, legitimately: opened lazily, inflated on first read. */
    static byte[] deflatedStorage(int floats) {
        byte[] pkl = stateDict(new P().tensor("w", "0", floats, 0, new int[] {floats}, new int[] {1}));
        long bytes = 4L * floats;
        return new RawZip().stored("archive/data.pkl", pkl)
                .entry("archive/data/0", 8, deflatedZeros(bytes), bytes, crcOfZeros(bytes)).finish();
    }

    /** Silent acceptance: two data.pkl entries (the second used to win). */
    static byte[] twoDataPkl() {
        byte[] a = stateDict(new P().tensor("w", "0", 2, 0, new int[] {2}, new int[] {1}));
        byte[] b = stateDict(new P().tensor("evil", "0", 2, 0, new int[] {2}, new int[] {1}));
        return new RawZip().stored("archive/data.pkl", a).stored("archive/data.pkl", b).stored("archive/data/0", new byte[8]).finish();
    }

    /** Silent acceptance: a local header that names another file than the central directory. */
    static byte[] localNameDiffers() {
        byte[] pkl = stateDict(new P().tensor("w", "0", 2, 0, new int[] {2}, new int[] {1}));
        RawZip z = new RawZip().stored("archive/data.pkl", pkl);
        byte[] data = new byte[8];
        long at = z.local("archive/data/X", 0, data, 8, crc(data));
        return z.central("archive/data/0", 0, 8, 8, crc(data), at).finish();
    }

    // ------------------------------------------------------------------ pickle

    /** Item 3: {1: …} keyed by a tuple nested {@code depth} deep, each level holding the one below twice. */
    static byte[] sharedTupleKey(int depth) {
        P p = new P().op(0x80, 2, '}', ')', 'q', 1, '0');
        for (int i = 1; i <= depth; i++) {
            p.op('h', i, 'h', i, 0x86, 'q', i + 1, '0');
        }
        return p.op('h', depth + 1, 'K', 1, 's', '.').bytes();
    }

    /** Item 6: one MARK on a dict, then {@code loads} persistent loads (5 bytes each) above it. */
    static byte[] manyPersistentLoads(int loads) {
        P p = new P().op(0x80, 2, '}', '(');
        p.str("k").op('q', 1, '0');
        p.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(1).op('t', 'q', 2, '0');
        for (int i = 0; i < loads; i++) {
            p.op('h', 1, 'h', 2, 'Q');
        }
        return p.op('u', '.').bytes();
    }

    /** Item 4: a [n, n] view with strides (0, 0) of a one-element storage. */
    static byte[] strideZero(int n) {
        byte[] pkl = stateDict(new P().tensor("w", "0", 1, 0, new int[] {n, n}, new int[] {0, 0}));
        return new RawZip().stored("archive/data.pkl", pkl).stored("archive/data/0", new byte[4]).finish();
    }

    // ------------------------------------------------------------------ TensorFlow

    /**
     * Item 5: an index whose first key is {@code keyLength} bytes and whose {@code entries}
     * further keys each share all but its last byte (6 bytes on disk, {@code keyLength} decoded).
     */
    static byte[] tfKeyBomb(int keyLength, int entries) {
        Proto b = new Proto().rawVarint(0).rawVarint(keyLength).rawVarint(0);
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        block.writeBytes(b.bytes());
        block.writeBytes(new byte[keyLength]);
        for (int i = 0; i < entries; i++) {
            block.writeBytes(new Proto().rawVarint(keyLength - 1).rawVarint(1).rawVarint(0).bytes());
            block.write(1 + i % 250);
        }
        block.writeBytes(le(8).putInt(0).putInt(1).array()); // one restart point at 0
        return TensorBundleWriter.tableWithRawBlock(block.toByteArray());
    }

    /** Silent acceptance: a header claiming 2^32 + 1 shards (used to become 1). */
    static byte[] tfShardCount() {
        Proto header = new Proto().varint(1, (1L << 32) + 1);
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        byte[] h = header.bytes();
        block.writeBytes(new Proto().rawVarint(0).rawVarint(0).rawVarint(h.length).bytes());
        block.writeBytes(h);
        block.writeBytes(le(8).putInt(0).putInt(1).array());
        return TensorBundleWriter.tableWithRawBlock(block.toByteArray());
    }

    // ------------------------------------------------------------------ ONNX

    /**
     * Item 6: {@code n} MatMuls with anonymous weights that all feed one output, consumed by
     * {@code n} Adds with a bias each (name recovery used to be quadratic).
     */
    static byte[] onnxManyMatMuls(int n) {
        Proto g = new Proto();
        for (int i = 0; i < n; i++) {
            g.message(1, OnnxWeightsTest.node("", "MatMul", List.of("x", "onnx::MatMul_" + i), List.of("o")));
        }
        for (int i = 0; i < n; i++) {
            g.message(1, OnnxWeightsTest.node("", "Add", List.of("o", "l" + i + ".bias"), List.of("y" + i)));
        }
        for (int i = 0; i < n; i++) {
            g.message(5, OnnxWeightsTest.tensor("onnx::MatMul_" + i, 1, new long[] {1, 1}).bytes(4, new byte[4]));
            g.message(5, OnnxWeightsTest.tensor("l" + i + ".bias", 1, new long[] {1}).bytes(4, new byte[4]));
        }
        return new Proto().varint(1, 8).message(7, g).bytes();
    }

    // ------------------------------------------------------------------ safetensors

    static byte[] safetensors(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(le(8).putLong(h.length).array());
        out.writeBytes(h);
        out.writeBytes(data);
        return out.toByteArray();
    }

    static byte[] validSafetensors() {
        return safetensors("{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[8,12]}}", le(12).putFloat(1.5f).putFloat(-2f).putInt(0x3f80bf80).array());
    }

    /**
     * Writes the seed corpora: {@code <dir>/<target>/<name>} for every target of
     * {@link LoaderFuzzTargets}, valid files and the hostile ones (small sizes).
     */
    public static void main(String[] args) throws IOException {
        Path root = Path.of(args[0]);
        Map<String, Map<String, byte[]>> seeds = new LinkedHashMap<>();
        Map<String, byte[]> torch = new LinkedHashMap<>();
        torch.put("valid", validTorch());
        torch.put("shared-deflate-bomb", sharedDeflateBomb(1 << 20));
        torch.put("byteorder-bomb", byteorderBomb(1 << 20));
        torch.put("storage-claims-more", storageClaimsMore());
        torch.put("deflated-storage", deflatedStorage(1024));
        torch.put("two-data-pkl", twoDataPkl());
        torch.put("local-name-differs", localNameDiffers());
        torch.put("stride-zero", strideZero(40_000));
        seeds.put("torch", torch);
        Map<String, byte[]> pickle = new LinkedHashMap<>();
        pickle.put("valid", stateDict(new P().tensor("w", "0", 6, 0, new int[] {3, 2}, new int[] {1, 3})));
        pickle.put("shared-tuple-key", sharedTupleKey(32));
        pickle.put("many-persistent-loads", manyPersistentLoads(20_000));
        pickle.put("stride-zero", stateDict(new P().tensor("w", "0", 1, 0, new int[] {40_000, 40_000}, new int[] {0, 0})));
        seeds.put("pickle", pickle);
        Map<String, byte[]> tf = new LinkedHashMap<>();
        tf.put("key-bomb", tfKeyBomb(60_000, 20_000));
        tf.put("shard-count", tfShardCount());
        Path tmp = Files.createTempDirectory("seed");
        TensorBundleWriter.write(tmp.resolve("m"), Map.of("bert/embeddings/word_embeddings",
                dev.jformers.core.Tensor.of(new float[] {1, 2, 3, 4}, 2, 2)), 4096);
        tf.put("valid", Files.readAllBytes(tmp.resolve("m.index")));
        seeds.put("tfIndex", tf);
        Map<String, byte[]> onnx = new LinkedHashMap<>();
        onnx.put("valid", OnnxWeightsTest.model(false));
        onnx.put("many-matmuls", onnxManyMatMuls(2_000));
        seeds.put("onnx", onnx);
        Map<String, byte[]> st = new LinkedHashMap<>();
        st.put("valid", validSafetensors());
        st.put("overflowing-shape", safetensors("{\"w\":{\"dtype\":\"F64\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,0]}}", new byte[0]));
        st.put("lying-length", safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[4]));
        seeds.put("safetensors", st);
        List<String> written = new ArrayList<>();
        for (var t : seeds.entrySet()) {
            Path d = Files.createDirectories(root.resolve(t.getKey()));
            for (var s : t.getValue().entrySet()) {
                Files.write(d.resolve(s.getKey()), s.getValue());
                written.add(t.getKey() + "/" + s.getKey() + " " + s.getValue().length);
            }
        }
        written.forEach(System.out::println);
    }
}
