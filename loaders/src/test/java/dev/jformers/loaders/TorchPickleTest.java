package dev.jformers.loaders;

import dev.jformers.core.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hand-written torch.save archives: strides, shared storages, deflated pickles, lies. */
class TorchPickleTest {
    @TempDir
    Path tmp;

    /** Emits pickle opcodes the way torch does. */
    static final class P {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        /** Protocol-4 style: STACK_GLOBAL, SHORT_BINUNICODE and MEMOIZE instead of GLOBAL. */
        boolean protocol4;

        P op(int... bytes) {
            for (int b : bytes) {
                out.write(b);
            }
            return this;
        }

        P str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X');
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
            out.writeBytes(b);
            return this;
        }

        P global(String module, String name) {
            if (protocol4) {
                for (String s : new String[] {module, name}) {
                    byte[] b = s.getBytes(StandardCharsets.UTF_8);
                    op(0x8c, b.length);
                    out.writeBytes(b);
                    op(0x94);
                }
                return op(0x93, 0x94);
            }
            op('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        P integer(int v) {
            op('J');
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
            return this;
        }

        P tuple(int... v) {
            op('(');
            for (int x : v) {
                integer(x);
            }
            return op('t');
        }

        /** key: _rebuild_tensor_v2(storage 'key' of numel floats, offset, size, stride, False, OrderedDict()). */
        P tensor(String name, String key, int numel, int offset, int[] size, int[] stride) {
            str(name);
            global("torch._utils", "_rebuild_tensor_v2");
            op('(');
            op('(').str("storage").global("torch", "FloatStorage").str(key).str("cpu").integer(numel).op('t', 'Q');
            integer(offset).tuple(size).tuple(stride).op(0x89);
            global("collections", "OrderedDict").op(')', 'R');
            return op('t', 'R');
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    private Path archive(byte[] pickle, float[] storage) throws IOException {
        Path p = Files.createTempFile(tmp, "ckpt", ".bin");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(p))) {
            zip.putNextEntry(new ZipEntry("my_model/data.pkl")); // deflated, unlike torch: must be inflated
            zip.write(pickle);
            zip.closeEntry();
            ByteBuffer b = ByteBuffer.allocate(4 * storage.length).order(ByteOrder.LITTLE_ENDIAN);
            for (float f : storage) {
                b.putFloat(f);
            }
            stored(zip, "my_model/data/0", b.array());
            stored(zip, "my_model/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        }
        return p;
    }

    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }

    private static byte[] stateDict(P body) {
        P p = new P().op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', 'q', 0).op('(');
        p.out.writeBytes(body.bytes());
        return p.op('u', '.').bytes();
    }

    @Test
    void stridesOffsetsAndSharedStorage() throws IOException {
        P body = new P()
                .tensor("t", "0", 6, 0, new int[] {3, 2}, new int[] {1, 3})   // transposed view of [2, 3]
                .tensor("u", "0", 6, 3, new int[] {3}, new int[] {1})         // second row, shares storage
                .tensor("s", "0", 6, 5, new int[] {}, new int[] {});          // a scalar
        Path p = archive(stateDict(body), new float[] {0, 1, 2, 3, 4, 5});
        try (TorchCheckpoint c = TorchCheckpoint.open(p)) {
            Tensor t = c.get("t");
            assertArrayEquals(new int[] {3, 2}, t.shape());
            assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, t.toFloatArray());
            Tensor u = c.get("u");
            assertArrayEquals(new float[] {3, 4, 5}, u.toFloatArray());
            assertEquals(3, u.offset(), "a view into the mapped storage, not a copy");
            assertEquals(5f, c.get("s").toFloatArray()[0]);
            assertEquals(java.util.List.of(java.util.List.of("t", "u", "s")), c.sharedStorages());
        }
    }

    /** More than 65535 entries force the zip64 end-of-central-directory records. */
    @Test
    void zip64Directory() throws IOException {
        Path p = tmp.resolve("zip64.bin");
        byte[] pkl = stateDict(new P().tensor("w", "0", 2, 0, new int[] {2}, new int[] {1}));
        try (ZipOutputStream zip = new ZipOutputStream(new java.io.BufferedOutputStream(Files.newOutputStream(p), 1 << 20))) {
            for (int i = 0; i < 66_000; i++) {
                stored(zip, "archive/pad/" + i, new byte[0]);
            }
            stored(zip, "archive/data.pkl", pkl);
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-2f);
            stored(zip, "archive/data/0", b.array());
        }
        byte[] bytes = Files.readAllBytes(p);
        assertEquals(0x06064b50, ByteBuffer.wrap(bytes, bytes.length - 22 - 20 - 56, 4).order(ByteOrder.LITTLE_ENDIAN).getInt(), "zip64 end record");
        try (TorchCheckpoint c = TorchCheckpoint.open(p)) {
            assertArrayEquals(new float[] {1.5f, -2f}, c.get("w").toFloatArray());
        }
    }

    @Test
    void protocol4Opcodes() throws IOException {
        P body = new P();
        body.protocol4 = true;
        body.tensor("w", "0", 3, 1, new int[] {2}, new int[] {1});
        P p = new P();
        p.protocol4 = true;
        p.op(0x80, 4, 0x95, 0, 0, 0, 0, 0, 0, 0, 0); // PROTO 4, FRAME (length ignored)
        p.global("collections", "OrderedDict").op(')', 'R', 0x94, '(');
        p.out.writeBytes(body.bytes());
        p.op('u', '.');
        Path file = archive(p.bytes(), new float[] {7, 8, 9});
        try (TorchCheckpoint c = TorchCheckpoint.open(file)) {
            assertArrayEquals(new float[] {8, 9}, c.get("w").toFloatArray());
        }
    }

    @Test
    void outOfRangeViewsAreRefused() throws IOException {
        Path p = archive(stateDict(new P().tensor("w", "0", 6, 4, new int[] {3}, new int[] {1})), new float[6]);
        LoaderException e = assertThrows(LoaderException.class, () -> TorchCheckpoint.open(p));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("reach element 6"), e.getMessage());
        // The pickle claims more elements than the storage entry holds.
        Path q = archive(stateDict(new P().tensor("w", "0", 1000, 0, new int[] {1000}, new int[] {1})), new float[6]);
        e = assertThrows(LoaderException.class, () -> TorchCheckpoint.open(q));
        assertTrue(e.getMessage().contains("tensor 'w'") && e.getMessage().contains("storage '0'") && e.getMessage().contains("need 4000"), e.getMessage());
    }

    @Test
    void selfReferencingStructuresAreRefused() throws IOException {
        // d = {}; l = []; l.append(l); d[(l,)] = 1
        byte[] evil = new P().op(0x80, 2, '}', 'q', 0, ']', 'q', 1, 'h', 1, 'a', '0', 'h', 1, 0x85, 'K', 1, 's', '.').bytes();
        Path p = archive(evil, new float[1]);
        LoaderException e = assertThrows(LoaderException.class, () -> TorchCheckpoint.open(p));
        assertTrue(e.getMessage().contains("dict key Tuple is not a string or an int"), e.getMessage());
    }

    @Test
    void hugeLengthsAreCheckedBeforeAllocating() throws IOException {
        // BINUNICODE claiming 2 GB, BINBYTES8 claiming 2^62 bytes, LONG4 claiming 1 GB.
        for (byte[] pkl : new byte[][] {
                {(byte) 0x80, 2, 'X', (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x7F, 'a'},
                {(byte) 0x80, 4, (byte) 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x40},
                {(byte) 0x80, 2, (byte) 0x8b, 0, 0, 0, 0x40}}) {
            Path p = archive(pkl, new float[1]);
            LoaderException e = assertThrows(LoaderException.class, () -> TorchCheckpoint.open(p));
            assertTrue(e.getMessage().contains("truncated") || e.getMessage().contains("too long"), e.getMessage());
        }
    }
}
