package dev.jformers.loaders;

import dev.jformers.core.DType;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Regressions for the hostile model files of issue 19, each made here by {@link Hostile}. Tagged
 * "hostile": they run in a fork with a 256 MB heap (inflated entries live on the heap), so a bomb
 * that still went off would fail with OutOfMemoryError; each must end in well under 10 s with one
 * LoaderException line.
 */
@Tag("hostile")
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class HostileLoadersTest {
    private static final String SECRET = "root:x:0:0:SECRET-LINE";

    @TempDir
    Path tmp;

    private Path write(String name, byte[] data) throws IOException {
        Path p = tmp.resolve(name);
        Files.createDirectories(p.getParent());
        Files.write(p, data);
        return p;
    }

    private static String oneLine(Exception e) {
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    // ---------------------------------------------------------------- 1: containment

    /** A file outside the model folder, and a folder whose files link to it. */
    private Path outside() throws IOException {
        Path secret = tmp.resolve("etc").resolve("passwd");
        Files.createDirectories(secret.getParent());
        Files.writeString(secret, SECRET + "\n");
        return secret;
    }

    @Test
    void weightsLinkedOutOfTheFolderAreRefusedUnread() throws IOException {
        Path secret = outside();
        Path model = Files.createDirectories(tmp.resolve("model"));
        Files.createSymbolicLink(model.resolve("model.safetensors"), secret);
        LoaderException e = assertThrows(LoaderException.class, () -> Checkpoints.open(model));
        assertTrue(oneLine(e).contains("leads outside the model folder"), e.getMessage());
        assertFalse(e.getMessage().contains("SECRET") && e.getMessage().contains("etc"), e.getMessage());
    }

    @Test
    void shardsAndTfDataLinkedOutOfTheFolderAreRefused() throws IOException {
        outside();
        Path real = write("elsewhere/model-1.safetensors", Hostile.validSafetensors());
        Path model = Files.createDirectories(tmp.resolve("model"));
        Files.writeString(model.resolve("model.safetensors.index.json"), "{\"weight_map\": {\"w\": \"model-1.safetensors\"}}");
        Files.createSymbolicLink(model.resolve("model-1.safetensors"), real);
        LoaderException e = assertThrows(LoaderException.class, () -> Checkpoints.open(model));
        assertTrue(oneLine(e).contains("leads outside the model folder"), e.getMessage());

        Path tf = Files.createDirectories(tmp.resolve("tf"));
        TensorBundleWriter.write(tmp.resolve("elsewhere").resolve("m"), Map.of("bert/embeddings/word_embeddings",
                Tensor.of(new float[] {1, 2, 3, 4}, 2, 2)), 4096);
        Files.copy(tmp.resolve("elsewhere").resolve("m.index"), tf.resolve("m.index"));
        Files.createSymbolicLink(tf.resolve("m.data-00000-of-00001"), tmp.resolve("elsewhere").resolve("m.data-00000-of-00001"));
        e = assertThrows(LoaderException.class, () -> Checkpoints.open(tf));
        assertTrue(oneLine(e).contains("leads outside the model folder"), e.getMessage());
    }

    @Test
    void hubCacheSnapshotsMayLinkIntoTheirBlobs() throws IOException {
        Path repo = tmp.resolve("hub").resolve("models--org--tiny");
        Path blob = write("hub/models--org--tiny/blobs/0123abcd", Hostile.validSafetensors());
        Path snap = Files.createDirectories(repo.resolve("snapshots").resolve("c0ffee"));
        Files.createSymbolicLink(snap.resolve("model.safetensors"), Path.of("../../blobs").resolve(blob.getFileName()));
        try (WeightSource w = Checkpoints.open(snap)) {
            assertArrayEquals(new float[] {1.5f, -2f}, w.get("w").toFloatArray());
        }
        // ... but not into another repository's blobs, nor anywhere else
        Path other = write("hub/models--evil--x/blobs/beef", Hostile.validSafetensors());
        Files.delete(snap.resolve("model.safetensors"));
        Files.createSymbolicLink(snap.resolve("model.safetensors"), other);
        assertThrows(LoaderException.class, () -> Checkpoints.open(snap));
    }

    // ---------------------------------------------------------------- 2: zip bombs

    @Test
    void sixteenEntriesSharingOneDeflateStreamAreRefused() throws IOException {
        Path p = write("bomb.bin", Hostile.sharedDeflateBomb(64L << 20)); // 16 × 64 MB claimed, 64 KB on disk
        LoaderException e = assertThrows(LoaderException.class, () -> TorchCheckpoint.open(p));
        assertTrue(oneLine(e).contains("names another file") || e.getMessage().contains("share or overlap"), e.getMessage());
    }

    @Test
    void aByteorderBombIsNotInflated() throws IOException {
        Path p = write("bomb.bin", Hostile.byteorderBomb(16L << 20));
        LoaderException e = assertThrows(LoaderException.class, () -> TorchCheckpoint.open(p));
        assertTrue(oneLine(e).contains("byteorder entry of 16777216 bytes"), e.getMessage());
    }

    @Test
    void aStorageClaimingMoreThanItsTensorNeedsIsRefusedBeforeAllocating() throws IOException {
        Path p = write("bomb.bin", Hostile.storageClaimsMore());
        LoaderException e = assertThrows(LoaderException.class, () -> TorchCheckpoint.open(p));
        assertTrue(oneLine(e).contains("holds 1048576 bytes") && e.getMessage().contains("need 8"), e.getMessage());
    }

    @Test
    void deflatedStoragesInflateOnlyWhenReadAndNeverBeyondTheBudget() throws IOException {
        // 32 MB of zeros in one deflated storage: opening (inspect) inflates nothing; reading it does,
        // once, onto the heap of this 256 MB fork.
        Path p = write("lazy.bin", Hostile.deflatedStorage(8 << 20));
        try (TorchCheckpoint c = TorchCheckpoint.open(p)) {
            assertEquals(32L << 20, c.info("w").byteSize());
            Tensor w = c.get("w");
            assertEquals(8 << 20, w.numel());
            assertEquals(0f, w.segment().get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * (8 << 20) - 4));
            assertEquals(w.segment().address(), c.get("w").segment().address(), "inflated once, then shared");
        }
    }

    @Test
    void duplicateNamesAndDisagreeingLocalHeadersAreRefused() throws IOException {
        Path two = write("two.bin", Hostile.twoDataPkl());
        assertTrue(oneLine(assertThrows(LoaderException.class, () -> TorchCheckpoint.open(two))).contains("two entries are named 'archive/data.pkl'"));
        Path local = write("local.bin", Hostile.localNameDiffers());
        assertTrue(oneLine(assertThrows(LoaderException.class, () -> TorchCheckpoint.open(local))).contains("names another file"));
    }

    // ---------------------------------------------------------------- 3 and 6: pickle work

    @Test
    void aTupleKeyOfSharedTuplesIsRefusedAtOnce() throws IOException {
        Path p = write("hash.bin", new Hostile.RawZip().stored("archive/data.pkl", Hostile.sharedTupleKey(32)).finish());
        LoaderException e = assertThrows(LoaderException.class, () -> TorchCheckpoint.open(p));
        assertTrue(oneLine(e).contains("dict key Tuple is not a string or an int"), e.getMessage());
    }

    @Test
    void persistentLoadsCostConstantWorkEach() {
        // 49,000 persistent loads above one MARK (the stack stays under its 100,000-slot bound):
        // each used to scan the whole stack
        byte[] pkl = Hostile.manyPersistentLoads(49_000);
        long start = System.nanoTime();
        assertTrue(TorchCheckpoint.readPickle(Path.of("data.pkl"), java.lang.foreign.MemorySegment.ofArray(pkl)).isEmpty());
        assertTrue(System.nanoTime() - start < 2_000_000_000L, "took " + (System.nanoTime() - start) / 1_000_000 + " ms");
    }

    // ---------------------------------------------------------------- 4 and 9: views and sizes

    @Test
    void strideZeroViewsAreNeverMaterialised() throws IOException {
        Path p = write("stride0.bin", Hostile.strideZero(40_000));
        LoaderException e = assertThrows(LoaderException.class, () -> TorchCheckpoint.open(p));
        assertTrue(oneLine(e).contains("repeat elements") && e.getMessage().contains("tensor 'w'"), e.getMessage());
        // convert goes through the same open
        assertThrows(LoaderException.class, () -> SafetensorsWriter.convert(p, tmp.resolve("out.safetensors")));
    }

    @Test
    void byteSizesNeverOverflow() {
        int big = Integer.MAX_VALUE;
        assertThrows(LoaderException.class, () -> TensorInfo.of("w", DType.F64, new int[] {big, big, big}));
        assertThrows(ShapeException.class, () -> Tensor.zeros(DType.F64, big, big, big));
        assertThrows(ShapeException.class, () -> Tensor.wrap(java.lang.foreign.MemorySegment.ofArray(new byte[8]), DType.F32, big, big, 4));
    }

    // ---------------------------------------------------------------- 5: TensorFlow index

    @Test
    void prefixCompressedKeysHaveABudget() throws IOException {
        Path p = write("bomb/model.ckpt.index", Hostile.tfKeyBomb(60_000, 200_000)); // 1.2 MB: 12 GB of keys
        LoaderException e = assertThrows(LoaderException.class, () -> TfCheckpoint.open(p));
        assertTrue(oneLine(e).contains("prefix-compression bomb"), e.getMessage());
        Path longKey = write("long/model.ckpt.index", Hostile.tfKeyBomb(100_000, 1));
        assertTrue(oneLine(assertThrows(LoaderException.class, () -> TfCheckpoint.open(longKey))).contains("table key of 100000 bytes"));
    }

    @Test
    void aShardCountBeyondAnIntIsRefused() throws IOException {
        Path p = write("shards/model.ckpt.index", Hostile.tfShardCount());
        LoaderException e = assertThrows(LoaderException.class, () -> TfCheckpoint.open(p));
        assertTrue(oneLine(e).contains("implausible shard count 4294967297"), e.getMessage());
    }

    // ---------------------------------------------------------------- 6: shard paths, ONNX names

    @Test
    void aShardSpelledManyWaysIsOpenedOnce() throws IOException {
        Path model = Files.createDirectories(tmp.resolve("sharded"));
        Files.write(model.resolve("model-1.safetensors"), Hostile.validSafetensors());
        Files.createSymbolicLink(model.resolve("alias.safetensors"), Path.of("model-1.safetensors"));
        Files.writeString(model.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"w\": \"./model-1.safetensors\", \"b\": \"sub/../alias.safetensors\"}}");
        try (ShardedSource s = ShardedSource.open(model.resolve("model.safetensors.index.json"), SafetensorsFile::open)) {
            assertEquals(1, s.shards().size());
            assertArrayEquals(new float[] {1.5f, -2f}, s.get("w").toFloatArray());
        }
    }

    @Test
    void onnxNameRecoveryIsLinear() throws IOException {
        Path p = write("many.onnx", Hostile.onnxManyMatMuls(20_000));
        long start = System.nanoTime();
        try (OnnxWeights w = OnnxWeights.open(p)) {
            assertTrue(w.names().contains("l19999.weight"));
            assertEquals(40_000, w.names().size());
        }
        assertTrue(System.nanoTime() - start < 5_000_000_000L);
    }

    @Test
    void refusedInputIsNeverEchoed() throws IOException {
        Path p = write("order.bin", new Hostile.RawZip().stored("archive/data.pkl",
                Hostile.stateDict(new TorchPickleTest.P().tensor("w", "0", 2, 0, new int[] {2}, new int[] {1})))
                .stored("archive/byteorder", SECRET.substring(0, 16).getBytes(StandardCharsets.US_ASCII))
                .stored("archive/data/0", new byte[8]).finish());
        LoaderException e = assertThrows(LoaderException.class, () -> TorchCheckpoint.open(p));
        assertFalse(e.getMessage().contains("root:x"), e.getMessage());
    }
}
