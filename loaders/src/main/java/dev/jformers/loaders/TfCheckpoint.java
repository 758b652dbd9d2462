package dev.jformers.loaders;

import dev.jformers.core.DType;
import dev.jformers.core.ModelFolder;
import dev.jformers.core.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * A TensorFlow checkpoint in the TensorBundle format: {@code PREFIX.index} (a sorted table
 * mapping each variable name to a BundleEntryProto: dtype, shape, shard, offset, size, masked
 * CRC32C; the empty key holds the BundleHeaderProto) and {@code PREFIX.data-0000N-of-0000M}
 * shards, which are memory-mapped. Names are TensorFlow's ({@code bert/encoder/layer_0/...});
 * {@link TfNames} maps them to Hugging Face names. Each tensor's CRC is checked the first time
 * it is read.
 */
public final class TfCheckpoint implements WeightSource {
    // TensorFlow DataType enum values (types.proto).
    private static final int DT_FLOAT = 1, DT_DOUBLE = 2, DT_INT32 = 3, DT_UINT8 = 4, DT_INT16 = 5, DT_INT8 = 6,
            DT_INT64 = 9, DT_BOOL = 10, DT_BFLOAT16 = 14, DT_HALF = 19;

    private record Entry(TensorInfo info, int shard, long offset, int crc) {
    }

    private final Path prefix;
    private final Arena arena;
    private final MemorySegment[] shards;
    private final Path[] shardFiles;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;
    private final Set<String> verified = ConcurrentHashMap.newKeySet();

    private TfCheckpoint(Path prefix, Arena arena, MemorySegment[] shards, Path[] shardFiles, Map<String, Entry> entries, Map<String, String> metadata) {
        this.prefix = prefix;
        this.arena = arena;
        this.shards = shards;
        this.shardFiles = shardFiles;
        this.entries = entries;
        this.metadata = metadata;
    }

    /**
     * Resolves a checkpoint prefix from {@code path}: the prefix itself, {@code PREFIX.index},
     * a SavedModel directory ({@code variables/variables}), or a directory holding one {@code .index}.
     * Returns null when none is found.
     */
    public static Path findPrefix(Path path) {
        String s = path.toString();
        if (s.endsWith(".index") && Files.isRegularFile(path)) {
            return Path.of(s.substring(0, s.length() - ".index".length()));
        }
        if (Files.isRegularFile(Path.of(s + ".index"))) {
            return path;
        }
        if (Files.isDirectory(path)) {
            Path saved = path.resolve("variables").resolve("variables");
            if (Files.isRegularFile(Path.of(saved + ".index"))) {
                return saved;
            }
            try (Stream<Path> files = Files.list(path)) {
                List<Path> idx = files.filter(p -> p.getFileName().toString().endsWith(".index") && Files.isRegularFile(p)).toList();
                if (idx.size() == 1) {
                    return findPrefix(idx.getFirst());
                }
            } catch (IOException e) {
                return null;
            }
        }
        return null;
    }

    /** Opens the checkpoint at {@code path} (see {@link #findPrefix}), keeping TensorFlow's names. */
    public static TfCheckpoint open(Path path) {
        Path prefix = findPrefix(path);
        if (prefix == null) {
            throw LoaderException.of(path, null, "no TensorFlow checkpoint (PREFIX.index) found");
        }
        Path indexFile = Path.of(prefix + ".index");
        // Files found through a folder, and the data shards in any case, must lie inside the folder.
        Path folder = Files.isDirectory(path) ? path : prefix.toAbsolutePath().getParent();
        if (Files.isDirectory(path)) {
            String escape = ModelFolder.escape(folder, indexFile);
            if (escape != null) {
                throw LoaderException.of(indexFile, null, escape);
            }
        }
        Arena arena = Arena.ofShared();
        try {
            return read(prefix, indexFile, folder, arena);
        } catch (RuntimeException e) {
            arena.close();
            if (e instanceof LoaderException) {
                throw e;
            }
            throw LoaderException.of(indexFile, null, "malformed checkpoint: " + e, e);
        }
    }

    private static TfCheckpoint read(Path prefix, Path indexFile, Path folder, Arena arena) {
        Map<String, MemorySegment> table = TfTable.read(indexFile, MappedFile.map(indexFile, arena));
        MemorySegment headerBytes = table.get("");
        if (headerBytes == null) {
            throw LoaderException.of(indexFile, null, "index has no BundleHeaderProto (empty key)");
        }
        long numShards = 1;
        ProtoReader h = new ProtoReader(indexFile, "BundleHeaderProto", headerBytes);
        Map<String, String> metadata = new LinkedHashMap<>();
        while (h.next()) {
            switch (h.field()) {
                case 1 -> numShards = h.int64();
                case 2 -> {
                    long endianness = h.int64();
                    if (endianness != 0) {
                        throw LoaderException.of(indexFile, null, "big-endian checkpoints are not supported");
                    }
                }
                case 3 -> {
                    ProtoReader v = h.message("version");
                    while (v.next()) {
                        if (v.field() == 1 && v.wireType() == ProtoReader.VARINT) {
                            metadata.put("version", Long.toString(v.varint()));
                        } else {
                            v.skip();
                        }
                    }
                }
                default -> h.skip();
            }
        }
        if (numShards < 1 || numShards > 99_999) {
            throw LoaderException.of(indexFile, null, "implausible shard count " + numShards);
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        List<String> skipped = new ArrayList<>();
        for (Map.Entry<String, MemorySegment> e : table.entrySet()) {
            if (e.getKey().isEmpty()) {
                continue;
            }
            String name = new String(e.getKey().getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
            Entry entry = entry(indexFile, name, e.getValue(), (int) numShards);
            if (entry == null) {
                skipped.add(name);
            } else {
                entries.put(name, entry);
            }
        }
        if (!skipped.isEmpty()) {
            metadata.put("skipped", String.join(",", skipped)); // strings and other non-numeric variables
        }
        MemorySegment[] shards = new MemorySegment[(int) numShards];
        Path[] shardFiles = new Path[(int) numShards];
        for (int i = 0; i < numShards; i++) {
            shardFiles[i] = Path.of(String.format("%s.data-%05d-of-%05d", prefix, i, numShards));
            String escape = ModelFolder.escape(folder, shardFiles[i]);
            if (escape != null) {
                throw LoaderException.of(shardFiles[i], null, escape);
            }
            shards[i] = MappedFile.map(shardFiles[i], arena);
        }
        for (Entry en : entries.values()) {
            long end = en.offset + en.info.byteSize();
            if (en.offset < 0 || end < en.offset || end > shards[en.shard].byteSize()) {
                throw LoaderException.of(shardFiles[en.shard], en.info.name(), "data [" + en.offset + ", " + end
                        + ") lies beyond the end of the shard (" + shards[en.shard].byteSize() + " bytes)");
            }
        }
        return new TfCheckpoint(prefix, arena, shards, shardFiles, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata));
    }

    /** Parses a BundleEntryProto; null for dtypes that hold no numbers (strings, resources, …). */
    private static Entry entry(Path file, String name, MemorySegment proto, int numShards) {
        ProtoReader r = new ProtoReader(file, "entry '" + name + "'", proto);
        int dtypeCode = 0, shard = 0, crc = 0;
        long offset = 0, size = 0;
        List<Long> dims = new ArrayList<>();
        boolean sliced = false;
        while (r.next()) {
            switch (r.field()) {
                case 1 -> dtypeCode = (int) r.int64();
                case 2 -> {
                    ProtoReader shape = r.message("shape");
                    while (shape.next()) {
                        if (shape.field() == 2) {
                            ProtoReader dim = shape.message("dim");
                            long d = 0;
                            while (dim.next()) {
                                if (dim.field() == 1 && dim.wireType() == ProtoReader.VARINT) {
                                    d = dim.varint();
                                } else {
                                    dim.skip();
                                }
                            }
                            if (dims.size() > 64) {
                                throw LoaderException.of(file, name, "rank above 64");
                            }
                            dims.add(d);
                        } else if (shape.field() == 3 && shape.wireType() == ProtoReader.VARINT && shape.varint() != 0) {
                            throw LoaderException.of(file, name, "shape of unknown rank");
                        } else {
                            shape.skip();
                        }
                    }
                }
                case 3 -> {
                    long sh = r.int64();
                    shard = sh < 0 || sh >= numShards ? -1 : (int) sh;
                }
                case 4 -> offset = r.int64();
                case 5 -> size = r.int64();
                case 6 -> {
                    if (r.wireType() != ProtoReader.FIXED32) {
                        throw LoaderException.of(file, name, "crc32c is not a fixed32");
                    }
                    crc = r.fixed32();
                }
                case 7 -> {
                    sliced = true;
                    r.skip();
                }
                default -> r.skip();
            }
        }
        DType dtype = switch (dtypeCode) {
            case DT_FLOAT -> DType.F32;
            case DT_DOUBLE -> DType.F64;
            case DT_INT32 -> DType.I32;
            case DT_UINT8 -> DType.U8;
            case DT_INT16 -> DType.I16;
            case DT_INT8 -> DType.I8;
            case DT_INT64 -> DType.I64;
            case DT_BOOL -> DType.BOOL;
            case DT_BFLOAT16 -> DType.BF16;
            case DT_HALF -> DType.F16;
            default -> null;
        };
        if (dtype == null) {
            return null;
        }
        if (sliced) {
            throw LoaderException.of(file, name, "partitioned (sliced) variables are not supported");
        }
        if (shard < 0 || shard >= numShards) {
            throw LoaderException.of(file, name, "names a shard outside the " + numShards + " the header declares");
        }
        int[] shape = Checks.shape(file, name, dims.stream().mapToLong(Long::longValue).toArray());
        long bytes = Checks.byteSize(file, name, dtype, shape);
        if (bytes != size) {
            throw LoaderException.of(file, name, dtype + java.util.Arrays.toString(shape) + " needs " + bytes + " bytes, the entry says " + size);
        }
        return new Entry(new TensorInfo(name, dtype, shape, bytes), shard, offset, crc);
    }

    @Override
    public String format() {
        return "tensorflow";
    }

    @Override
    public Path path() {
        return prefix;
    }

    @Override
    public Set<String> names() {
        return entries.keySet();
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw LoaderException.of(prefix, name, "no such tensor");
        }
        return e;
    }

    @Override
    public TensorInfo info(String name) {
        return entry(name).info;
    }

    @Override
    public Tensor get(String name) {
        Entry e = entry(name);
        MemorySegment data = shards[e.shard].asSlice(e.offset, e.info.byteSize());
        if (!verified.contains(name)) {
            if (TfTable.mask(TfTable.crc32c(data)) != e.crc) {
                throw LoaderException.of(shardFiles[e.shard], name, "CRC32C mismatch: the data is corrupt");
            }
            verified.add(name);
        }
        return Tensor.wrap(data, e.info.dtype(), e.info.shape());
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public void close() {
        arena.close();
    }
}
