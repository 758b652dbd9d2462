package dev.jformers.loaders;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A protocol-buffers wire-format reader over a memory segment, enough for TensorFlow's
 * BundleEntryProto and ONNX's ModelProto: varints, fixed 32/64-bit fields and
 * length-delimited fields (returned as bounds-checked sub-readers or zero-copy slices).
 * <pre>
 * while (r.next()) switch (r.field()) { case 1 -> x = r.varint(); default -> r.skip(); }
 * </pre>
 */
final class ProtoReader {
    static final int VARINT = 0, FIXED64 = 1, LEN = 2, FIXED32 = 5;

    private final Path file;
    private final String what;
    private final MemorySegment seg;
    private long pos;
    private final long end;
    private int field, wireType;

    ProtoReader(Path file, String what, MemorySegment seg) {
        this.file = file;
        this.what = what;
        this.seg = seg;
        this.pos = 0;
        this.end = seg.byteSize();
    }

    private LoaderException error(String reason) {
        return LoaderException.of(file, null, what + ": protobuf at byte " + pos + ": " + reason);
    }

    /** Advances to the next field; false at the end of the message. */
    boolean next() {
        if (pos >= end) {
            return false;
        }
        long tag = varint();
        field = (int) (tag >>> 3);
        wireType = (int) (tag & 7);
        if (field <= 0 || tag >>> 3 > 0x1FFFFFFF) {
            throw error("invalid field number " + (tag >>> 3));
        }
        return true;
    }

    Path file() {
        return file;
    }

    int field() {
        return field;
    }

    int wireType() {
        return wireType;
    }

    long varint() {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= end) {
                throw error("truncated varint");
            }
            byte b = seg.get(ValueLayout.JAVA_BYTE, pos++);
            v |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                return v;
            }
        }
        throw error("varint longer than 10 bytes");
    }

    int fixed32() {
        if (end - pos < 4) {
            throw error("truncated fixed32");
        }
        int v = seg.get(Le.I32, pos);
        pos += 4;
        return v;
    }

    long fixed64() {
        if (end - pos < 8) {
            throw error("truncated fixed64");
        }
        long v = seg.get(Le.I64, pos);
        pos += 8;
        return v;
    }

    /** The current length-delimited field as a zero-copy slice. */
    MemorySegment bytes() {
        if (wireType != LEN) {
            throw error("field " + field + " is not length-delimited");
        }
        long n = varint();
        if (n < 0 || n > end - pos) {
            throw error("length " + n + " of field " + field + " runs past the end (" + (end - pos) + " bytes left)");
        }
        MemorySegment s = seg.asSlice(pos, n);
        pos += n;
        return s;
    }

    /** The current length-delimited field as a nested message reader. */
    ProtoReader message(String name) {
        return new ProtoReader(file, what + "." + name, bytes());
    }

    String string() {
        MemorySegment s = bytes();
        if (s.byteSize() > 1 << 24) {
            throw error("string of " + s.byteSize() + " bytes");
        }
        return new String(s.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    /** The value of a varint field, whichever wire type carries it (packed repeated fields use {@link #packedVarints}). */
    long int64() {
        if (wireType != VARINT) {
            throw error("field " + field + " is not a varint");
        }
        return varint();
    }

    /** Packed varints of a repeated field (or a single unpacked one). */
    long[] packedVarints() {
        if (wireType == VARINT) {
            return new long[] {varint()};
        }
        ProtoReader r = new ProtoReader(file, what, bytes());
        long[] out = new long[8];
        int n = 0;
        while (r.pos < r.end) {
            if (n == out.length) {
                out = java.util.Arrays.copyOf(out, n * 2);
            }
            out[n++] = r.varint();
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /** Bytes left in this message. */
    long remaining() {
        return end - pos;
    }

    void skip() {
        switch (wireType) {
            case VARINT -> varint();
            case FIXED64 -> fixed64();
            case FIXED32 -> fixed32();
            case LEN -> bytes();
            default -> throw error("unsupported wire type " + wireType + " (field " + field + ")");
        }
    }
}
