package dev.jformers.loaders;

import dev.jformers.core.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hostile and broken files: each gives a LoaderException naming file, tensor and reason. */
class BadInputTest {
    @TempDir
    Path tmp;

    private static LoaderException fails(Path p) {
        return assertThrows(LoaderException.class, () -> {
            try (WeightSource s = Checkpoints.open(p)) {
                s.getAll().values().forEach(t -> t.toFloatArray());
            }
        });
    }

    private static void assertMentions(LoaderException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' should mention '" + p + "'");
        }
    }

    @Test
    void maliciousPickleIsRefusedWithoutRunningIt() {
        Path p = TestData.formats().resolve("bad/malicious_pickle/pytorch_model.bin");
        LoaderException e = fails(p);
        assertMentions(e, "pytorch_model.bin", "tensor 'evil'", "os.system", "refusing", "nothing was executed");
    }

    @Test
    void truncatedSafetensors() {
        LoaderException e = fails(TestData.formats().resolve("bad/truncated.safetensors"));
        assertMentions(e, "truncated.safetensors", "cls.predictions.transform.dense.weight", "beyond");
    }

    @Test
    void offsetsBeyondEof() {
        LoaderException e = fails(TestData.formats().resolve("bad/offsets_beyond_eof.safetensors"));
        assertMentions(e, "offsets_beyond_eof.safetensors", "bert.embeddings.LayerNorm.bias", "218656");
    }

    @Test
    void headerLengthBeyondEof() {
        LoaderException e = fails(TestData.formats().resolve("bad/header_len_beyond_eof.safetensors"));
        assertMentions(e, "header_len_beyond_eof.safetensors", "1218688", "exceeds");
    }

    // ---------------------------------------------------------------- safetensors headers

    private Path safetensors(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path p = Files.createTempFile(tmp, "bad", ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    @Test
    void overlappingOffsets() throws IOException {
        LoaderException e = fails(safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12));
        assertMentions(e, "'b'", "overlap", "'a'");
    }

    @Test
    void byteLengthDisagreesWithShape() throws IOException {
        LoaderException e = fails(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8));
        assertMentions(e, "'w'", "needs 12 bytes");
    }

    @Test
    void hugeClaimedShape() throws IOException {
        LoaderException e = fails(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,8]}}", 8));
        assertMentions(e, "'w'", "overflows");
        e = fails(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999],\"data_offsets\":[0,8]}}", 8));
        assertMentions(e, "'w'", "out of range");
        e = fails(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}", 8));
        assertMentions(e, "'w'", "out of range");
    }

    @Test
    void unknownDtypeAndBadOffsets() throws IOException {
        assertMentions(fails(safetensors("{\"w\":{\"dtype\":\"F8_E9\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1)), "unknown dtype");
        assertMentions(fails(safetensors("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,0]}}", 1)), "not an interval");
        assertMentions(fails(safetensors("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1e40]}}", 1)), "non-integer");
        assertMentions(fails(safetensors("[1,2]", 0)), "not a JSON object");
        assertMentions(fails(safetensors("{\"w\":", 0)), "not valid JSON");
    }

    @Test
    void tooShortFile() throws IOException {
        Path p = tmp.resolve("short.safetensors");
        Files.write(p, new byte[] {1, 2, 3});
        assertMentions(fails(p), "short.safetensors", "too short");
    }

    // ---------------------------------------------------------------- pickles and zips

    @Test
    void forbiddenGlobalsAndOpcodes() throws IOException {
        for (String[] g : new String[][] {{"os", "system"}, {"builtins", "eval"}, {"subprocess", "Popen"}, {"posix", "system"},
                {"torch.storage", "_load_from_bytes"}, {"__builtin__", "exec"}}) {
            ByteBuffer b = ByteBuffer.allocate(256);
            b.put((byte) 0x80).put((byte) 2).put((byte) 'c').put((g[0] + "\n" + g[1] + "\n").getBytes(StandardCharsets.US_ASCII))
                    .put((byte) 0x8c).put((byte) 4).put("echo".getBytes(StandardCharsets.US_ASCII))
                    .put((byte) 0x85).put((byte) 'R').put((byte) '.');
            Path p = legacyLike(b);
            assertMentions(fails(p), "refusing", g[0] + "." + g[1]);
        }
        // Unknown opcodes: INST ('i'), OBJ ('o'), NEWOBJ (0x81), EXT1 (0x82) and a byte that is no opcode.
        for (int op : new int[] {'i', 'o', 0x81, 0x82, 0xFF}) {
            ByteBuffer b = ByteBuffer.allocate(16);
            b.put((byte) 0x80).put((byte) 2).put((byte) op).put((byte) '.');
            assertMentions(fails(legacyLike(b)), "opcode");
        }
    }

    private Path legacyLike(ByteBuffer b) throws IOException {
        Path p = Files.createTempFile(tmp, "evil", ".bin");
        Files.write(p, java.util.Arrays.copyOf(b.array(), b.position()));
        return p;
    }

    @Test
    void maliciousZipPickleUnderAnyDirectoryName() throws IOException {
        // Same payload as testdata's file, inside a zip written here with a different top-level folder.
        byte[] pkl = ("\u0080\u0002}q\u0000X\u0004\u0000\u0000\u0000evilq\u0001cposix\nsystem\nq\u0002X\u0004\u0000\u0000\u0000echoq\u0003"
                + "\u0085q\u0004Rq\u0005s.").getBytes(StandardCharsets.ISO_8859_1);
        Path p = tmp.resolve("evil.bin");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(p))) {
            zip.putNextEntry(new java.util.zip.ZipEntry("whatever/data.pkl"));
            zip.write(pkl);
            zip.closeEntry();
        }
        assertMentions(fails(p), "evil.bin", "posix.system", "'evil'");
    }

    @Test
    void brokenZip() throws IOException {
        byte[] good = Files.readAllBytes(TestData.golden().resolve("bert/base/pytorch_model.bin"));
        Path p = tmp.resolve("broken.bin");
        Files.write(p, java.util.Arrays.copyOf(good, good.length / 2));
        assertMentions(fails(p), "broken.bin", "zip");
        byte[] junk = good.clone();
        java.util.Arrays.fill(junk, junk.length - 200, junk.length, (byte) 0x55);
        Files.write(p, junk);
        assertMentions(fails(p), "broken.bin");
    }

    /** A flipped byte inside a stored tensor is caught by the zip's CRC-32 when that tensor is read. */
    @Test
    void corruptStorageInZip() throws IOException {
        Path src = TestData.golden().resolve("bert/base/pytorch_model.bin");
        byte[] b = Files.readAllBytes(src);
        Path ok = tmp.resolve("ok.bin");
        Files.write(ok, b);
        String victim = "embeddings.word_embeddings.weight";
        // Find 32 bytes from the middle of the word embeddings in the file (row 0, padding, is all zeros) and flip one.
        byte[] first;
        try (TorchCheckpoint c = TorchCheckpoint.open(ok)) {
            Tensor t = c.get(victim);
            first = t.segment().asSlice(t.offset() * 4 + 4096, 32).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
        int at = indexOf(b, first);
        assertTrue(at > 0);
        b[at + 5] ^= 0x01;
        Path bad = tmp.resolve("bad.bin");
        Files.write(bad, b);
        try (TorchCheckpoint c = TorchCheckpoint.open(bad)) {
            LoaderException e = assertThrows(LoaderException.class, () -> c.get(victim));
            assertMentions(e, "bad.bin", "'" + victim + "'", "CRC-32");
            c.get("embeddings.LayerNorm.weight"); // other storages are intact
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    void notACheckpoint() throws IOException {
        Path p = tmp.resolve("x.bin");
        Files.writeString(p, "hello world");
        assertMentions(fails(p), "x.bin", "not a PyTorch checkpoint");
        assertMentions(fails(tmp.resolve("missing")), "missing");
        assertMentions(fails(tmp), "no checkpoint found");
    }

    @Test
    void formatIsSniffedWithoutAnExtension() throws IOException {
        Path st = tmp.resolve("weights");
        Files.copy(TestData.golden().resolve("bert/base/model.safetensors"), st);
        Path bin = tmp.resolve("weights2");
        Files.copy(TestData.golden().resolve("bert/base/pytorch_model.bin"), bin);
        try (WeightSource a = Checkpoints.open(st); WeightSource b = Checkpoints.open(bin)) {
            assertTrue(a.format().equals("safetensors") && b.format().equals("pytorch-zip"));
        }
    }

    @Test
    void missingTensorNamesItself() {
        try (WeightSource s = Checkpoints.open(TestData.golden().resolve("bert/base"))) {
            LoaderException e = assertThrows(LoaderException.class, () -> s.get("nope.weight"));
            assertMentions(e, "model.safetensors", "'nope.weight'", "no such tensor");
        }
    }

    @Test
    void shardIndexCannotEscapeItsDirectory() throws IOException {
        Path idx = tmp.resolve("model.safetensors.index.json");
        Files.writeString(idx, "{\"weight_map\":{\"a\":\"../../etc/passwd\"}}");
        assertMentions(fails(idx), "'a'", "not a file in");
    }
}
