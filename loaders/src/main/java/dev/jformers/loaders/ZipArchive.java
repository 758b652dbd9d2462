package dev.jformers.loaders;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A minimal zip reader over a memory-mapped file: it parses the central directory (zip64
 * included) and serves STORED entries as views of the mapping, so the tensor data in a
 * {@code torch.save} archive is never copied. DEFLATED entries are inflated only when asked
 * for, into exactly their declared size, and only while the archive's inflate budget (what the
 * caller's tensors need) lasts. Duplicate names, local headers that disagree with the central
 * directory and entries that share or overlap bytes are refused when the archive is read.
 */
final class ZipArchive {
    private static final ValueLayout.OfInt U32 = Le.I32;
    private static final ValueLayout.OfShort U16 = Le.I16;
    private static final ValueLayout.OfLong U64 = Le.I64;
    private static final int EOCD = 0x06054b50, ZIP64_LOCATOR = 0x07064b50, ZIP64_EOCD = 0x06064b50;
    private static final int CENTRAL = 0x02014b50, LOCAL = 0x04034b50;
    /** Deflate cannot expand data by more than about 1032:1; larger claims are lies. */
    private static final long MAX_DEFLATE_RATIO = 1100;

    /** A central-directory entry; {@code dataStart} is where its bytes begin, past the local header. */
    record Entry(String name, int method, long compressedSize, long size, long localHeaderOffset, int crc32, long dataStart) {
    }

    private final Path file;
    private final MemorySegment seg;
    private final Map<String, Entry> entries;
    /** Bytes that inflating may still produce; set by the reader from what its tensors need. */
    private long inflateBudget = 0;

    private ZipArchive(Path file, MemorySegment seg, Map<String, Entry> entries) {
        this.file = file;
        this.seg = seg;
        this.entries = entries;
    }

    static boolean looksLikeZip(MemorySegment seg) {
        return seg.byteSize() >= 4 && seg.get(U32, 0) == LOCAL;
    }

    static ZipArchive read(Path file, MemorySegment seg) {
        long size = seg.byteSize();
        // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
        long eocd = -1;
        for (long p = size - 22; p >= Math.max(0, size - 22 - 65535); p--) {
            if (seg.get(U32, p) == EOCD) {
                eocd = p;
                break;
            }
        }
        if (eocd < 0) {
            throw LoaderException.of(file, null, "broken zip: no end-of-central-directory record");
        }
        long count = u16(seg, eocd + 10), cdSize = u32(seg, eocd + 12), cdOffset = u32(seg, eocd + 16);
        if (count == 0xFFFF || cdSize == 0xFFFFFFFFL || cdOffset == 0xFFFFFFFFL) {
            long loc = eocd - 20;
            if (loc < 0 || seg.get(U32, loc) != ZIP64_LOCATOR) {
                throw LoaderException.of(file, null, "broken zip: zip64 locator missing");
            }
            long z = seg.get(U64, loc + 8);
            if (z < 0 || z > size - 56 || seg.get(U32, z) != ZIP64_EOCD) {
                throw LoaderException.of(file, null, "broken zip: bad zip64 end record offset " + z);
            }
            count = seg.get(U64, z + 32);
            cdSize = seg.get(U64, z + 40);
            cdOffset = seg.get(U64, z + 48);
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset > size || cdSize > size - cdOffset || count < 0 || count > cdSize / 46) {
            throw LoaderException.of(file, null, "broken zip: central directory (" + count + " entries, " + cdSize
                    + " bytes at " + cdOffset + ") does not fit the file of " + size + " bytes");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        long p = cdOffset, end = cdOffset + cdSize;
        for (long i = 0; i < count; i++) {
            if (p + 46 > end || seg.get(U32, p) != CENTRAL) {
                throw LoaderException.of(file, null, "broken zip: bad central directory entry " + i);
            }
            int method = u16(seg, p + 10);
            int crc = seg.get(U32, p + 16);
            long csize = u32(seg, p + 20), usize = u32(seg, p + 24);
            int nameLen = u16(seg, p + 28), extraLen = u16(seg, p + 30), commentLen = u16(seg, p + 32);
            long local = u32(seg, p + 42);
            if (p + 46 + nameLen + extraLen + commentLen > end) {
                throw LoaderException.of(file, null, "broken zip: central directory entry " + i + " overruns the directory");
            }
            String name = new String(seg.asSlice(p + 46, nameLen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            // Zip64 extra field: the 64-bit values of the fields that read 0xFFFFFFFF, in order.
            long x = p + 46 + nameLen, xEnd = x + extraLen;
            while (x + 4 <= xEnd) {
                int id = u16(seg, x), len = u16(seg, x + 2);
                if (x + 4 + len > xEnd) {
                    break;
                }
                if (id == 1) {
                    long f = x + 4, fEnd = f + len;
                    if (usize == 0xFFFFFFFFL && f + 8 <= fEnd) {
                        usize = seg.get(U64, f);
                        f += 8;
                    }
                    if (csize == 0xFFFFFFFFL && f + 8 <= fEnd) {
                        csize = seg.get(U64, f);
                        f += 8;
                    }
                    if (local == 0xFFFFFFFFL && f + 8 <= fEnd) {
                        local = seg.get(U64, f);
                    }
                }
                x += 4 + len;
            }
            if (entries.containsKey(name)) {
                throw LoaderException.of(file, null, "broken zip: two entries are named '" + shown(name) + "'");
            }
            entries.put(name, checkLocal(file, seg, new Entry(name, method, csize, usize, local, crc, -1), nameLen));
            p += 46 + nameLen + extraLen + commentLen;
        }
        checkNoOverlap(file, entries);
        return new ZipArchive(file, seg, Collections.unmodifiableMap(entries));
    }

    Map<String, Entry> entries() {
        return entries;
    }

    /** The entry's bytes: a view of the mapping when stored, an inflated copy in {@code arena} when deflated. */
    MemorySegment data(Entry e, Arena arena) {
        MemorySegment raw = seg.asSlice(e.dataStart, e.compressedSize);
        return switch (e.method) {
            case 0 -> {
                if (e.size != e.compressedSize) {
                    throw LoaderException.of(file, null, "broken zip: stored entry '" + e.name + "' has different sizes");
                }
                yield raw;
            }
            case 8 -> inflate(e, raw, arena);
            default -> throw LoaderException.of(file, null, "zip entry '" + e.name + "' uses unsupported compression method " + e.method);
        };
    }

    /** Throws unless {@code data} (the entry's uncompressed bytes) has the CRC-32 the directory records. */
    void checkCrc(Entry e, MemorySegment data, String tensor) {
        CRC32 crc = new CRC32();
        for (long p = 0; p < data.byteSize(); p += 1 << 30) {
            crc.update(data.asSlice(p, Math.min(1 << 30, data.byteSize() - p)).asByteBuffer());
        }
        if ((int) crc.getValue() != e.crc32) {
            throw LoaderException.of(file, tensor, "zip entry '" + e.name + "' fails its CRC-32 check: the data is corrupt");
        }
    }

    /**
     * Lets inflating produce {@code bytes} more in total (the sizes the caller's tensors need):
     * entries that claim more than the budget are refused before a byte is allocated.
     */
    void allowInflating(long bytes) {
        inflateBudget = Math.addExact(inflateBudget, bytes);
    }

    /**
     * Inflates straight into memory of exactly the claimed size, charged to the budget: a Java
     * array (so -Xmx caps it and the garbage collector frees it) up to 2 GB, native memory above.
     */
    private synchronized MemorySegment inflate(Entry e, MemorySegment raw, Arena arena) {
        if (e.size > inflateBudget) {
            throw LoaderException.of(file, null, "zip entry '" + shown(e.name) + "' claims " + e.size
                    + " inflated bytes, more than the " + inflateBudget + " its tensors still need (a zip bomb?)");
        }
        inflateBudget -= e.size;
        MemorySegment out = e.size <= Integer.MAX_VALUE - 8 ? MemorySegment.ofArray(new byte[(int) e.size])
                : arena.allocate(e.size, 64);
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(raw.asByteBuffer());
            long n = 0;
            while (n < e.size) {
                int k = inf.inflate(out.asSlice(n, Math.min(1 << 30, e.size - n)).asByteBuffer());
                if (k == 0 && (inf.finished() || inf.needsInput() || inf.needsDictionary())) {
                    break;
                }
                n += k;
            }
            if (n != e.size || !inf.finished() && inf.inflate(new byte[1]) > 0) {
                throw LoaderException.of(file, null, "broken zip: entry '" + shown(e.name) + "' does not inflate to the " + e.size
                        + " bytes its directory claims");
            }
        } catch (DataFormatException ex) {
            throw LoaderException.of(file, null, "broken zip: entry '" + shown(e.name) + "': " + ex.getMessage());
        } finally {
            inf.end();
        }
        return out;
    }

    /**
     * Checks an entry's local header against the central directory (signature, the same name)
     * and that its data lies inside the file; returns the entry with its data start.
     */
    private static Entry checkLocal(Path file, MemorySegment seg, Entry e, int nameLen) {
        long size = seg.byteSize();
        long h = e.localHeaderOffset;
        if (h < 0 || h > size - 30 || seg.get(U32, h) != LOCAL) {
            throw LoaderException.of(file, null, "broken zip: bad local header for entry '" + shown(e.name) + "'");
        }
        int localNameLen = u16(seg, h + 26);
        if (localNameLen != nameLen || h + 30 + nameLen > size
                || !new String(seg.asSlice(h + 30, nameLen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8).equals(e.name)) {
            throw LoaderException.of(file, null, "broken zip: the local header of entry '" + shown(e.name) + "' names another file");
        }
        long start = h + 30 + nameLen + u16(seg, h + 28);
        if (e.compressedSize < 0 || e.size < 0 || start > size || e.compressedSize > size - start) {
            throw LoaderException.of(file, null, "broken zip: entry '" + shown(e.name) + "' (" + e.compressedSize
                    + " bytes at " + start + ") lies beyond the end of the file");
        }
        if (e.method == 8 && e.size > Math.max(1024, e.compressedSize * MAX_DEFLATE_RATIO)) {
            throw LoaderException.of(file, null, "zip entry '" + shown(e.name) + "' claims an implausible size " + e.size
                    + " for " + e.compressedSize + " compressed bytes");
        }
        return new Entry(e.name, e.method, e.compressedSize, e.size, h, e.crc32, start);
    }

    /** Entries may not share or overlap bytes: sixteen names for one deflate stream are sixteen bombs. */
    private static void checkNoOverlap(Path file, Map<String, Entry> entries) {
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(Entry::localHeaderOffset));
        for (int i = 1; i < sorted.size(); i++) {
            Entry a = sorted.get(i - 1), b = sorted.get(i);
            if (b.localHeaderOffset < a.dataStart + a.compressedSize) {
                throw LoaderException.of(file, null, "broken zip: entries '" + shown(a.name) + "' and '" + shown(b.name)
                        + "' share or overlap their data");
            }
        }
    }

    /** An entry name for a message: at most 100 characters, no control characters. */
    static String shown(String name) {
        String s = name.length() > 100 ? name.substring(0, 100) + "…" : name;
        return s.replaceAll("\\p{Cntrl}", "?");
    }

    private static int u16(MemorySegment s, long p) {
        return s.get(U16, p) & 0xFFFF;
    }

    private static long u32(MemorySegment s, long p) {
        return s.get(U32, p) & 0xFFFFFFFFL;
    }
}
