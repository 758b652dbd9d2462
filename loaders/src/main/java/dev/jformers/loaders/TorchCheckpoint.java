package dev.jformers.loaders;

import dev.jformers.core.DType;
import dev.jformers.core.Storage;
import dev.jformers.core.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A PyTorch state dict saved by {@code torch.save}: the zip format (torch ≥ 1.6:
 * {@code <dir>/data.pkl} + {@code <dir>/data/<key>} storages) or the legacy format (a row of
 * pickles followed by raw storages). Pickles are read by the restricted {@link Pickle}; storage
 * bytes are views of the memory-mapped file, so tensors that share a storage (tied weights)
 * share memory. Non-contiguous tensors are copied into contiguous ones on {@link #get}.
 */
public final class TorchCheckpoint implements WeightSource {
    private static final BigInteger LEGACY_MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    private static final long LEGACY_PROTOCOL = 1001;
    /** A state dict's pickle is about 100 bytes per tensor; a larger data.pkl is not one. */
    private static final long MAX_PICKLE = 256L << 20;

    /** A storage named by a persistent id, resolved to bytes once the pickle is read. */
    private static final class StorageRef {
        final String key;
        final DType dtype;
        final long numel;
        String user; // the first tensor that uses it, for error messages
        Storage storage;
        ZipArchive zip;             // zip format: the archive and entry whose CRC-32 is checked on first use
        ZipArchive.Entry entry;
        MemorySegment entryData;
        long bytes;
        volatile boolean verified;

        StorageRef(String key, DType dtype, long numel) {
            this.key = key;
            this.dtype = dtype;
            this.numel = numel;
        }
    }

    /** The arguments of {@code _rebuild_tensor_v2}. */
    private record TensorRef(StorageRef storage, long offset, int[] shape, long[] stride) {
    }

    private final Path path;
    private final String format;
    private final Arena arena;
    private final Map<String, TensorRef> tensors;
    private final Map<String, TensorInfo> infos;

    private TorchCheckpoint(Path path, String format, Arena arena, Map<String, TensorRef> tensors) {
        this.path = path;
        this.format = format;
        this.arena = arena;
        this.tensors = tensors;
        Map<String, TensorInfo> infos = new LinkedHashMap<>();
        tensors.forEach((n, t) -> infos.put(n, TensorInfo.of(n, t.storage.dtype, t.shape)));
        this.infos = infos;
    }

    /** Opens a zip-format or legacy {@code torch.save} file holding a dict of tensors. */
    public static TorchCheckpoint open(Path file) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment seg = MappedFile.map(file, arena);
            if (ZipArchive.looksLikeZip(seg)) {
                return new TorchCheckpoint(file, "pytorch-zip", arena, readZip(file, seg, arena));
            }
            if (seg.byteSize() >= 2 && (seg.get(ValueLayout.JAVA_BYTE, 0) & 0xFF) == 0x80) {
                return new TorchCheckpoint(file, "pytorch-legacy", arena, readLegacy(file, seg));
            }
            throw LoaderException.of(file, null, "not a PyTorch checkpoint (neither a zip archive nor a legacy pickle)");
        } catch (RuntimeException e) {
            arena.close();
            if (e instanceof LoaderException) {
                throw e;
            }
            // A reader bug must still surface as a loader error that names the file.
            throw LoaderException.of(file, null, "malformed checkpoint: " + e, e);
        }
    }

    // ------------------------------------------------------------------ zip format

    private static Map<String, TensorRef> readZip(Path file, MemorySegment seg, Arena arena) {
        ZipArchive zip = ZipArchive.read(file, seg);
        ZipArchive.Entry pkl = null;
        for (ZipArchive.Entry e : zip.entries().values()) {
            String n = e.name();
            if (n.equals("data.pkl") || n.endsWith("/data.pkl") && n.indexOf('/') == n.length() - "/data.pkl".length()) {
                if (pkl != null) {
                    throw LoaderException.of(file, null, "archive holds more than one data.pkl");
                }
                pkl = e;
            }
        }
        if (pkl == null) {
            throw LoaderException.of(file, null, "zip archive has no <dir>/data.pkl: not a torch.save file");
        }
        String prefix = pkl.name().substring(0, pkl.name().length() - "data.pkl".length());
        ZipArchive.Entry order = zip.entries().get(prefix + "byteorder");
        if (order != null) {
            if (order.size() > 16) {
                throw LoaderException.of(file, null, "byteorder entry of " + order.size() + " bytes (it holds one word)");
            }
            zip.allowInflating(order.size());
            MemorySegment b = zip.data(order, arena);
            String s = new String(b.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).strip();
            if (!s.equals("little")) {
                throw LoaderException.of(file, null, "byte order is not 'little' (only little-endian is supported)");
            }
        }
        if (pkl.size() > MAX_PICKLE) {
            throw LoaderException.of(file, null, "data.pkl of " + pkl.size() + " bytes is larger than any state dict's (" + MAX_PICKLE + ")");
        }
        zip.allowInflating(pkl.size());
        MemorySegment pickle = zip.data(pkl, arena);
        zip.checkCrc(pkl, pickle, null);
        Map<String, StorageRef> storages = new LinkedHashMap<>();
        Object root = Pickle.load(file, pickle, 0, pickle.byteSize(), hooks(file, storages, false)).value();
        for (StorageRef s : storages.values()) {
            ZipArchive.Entry e = zip.entries().get(prefix + "data/" + s.key);
            if (e == null) {
                throw LoaderException.of(file, s.user, "storage '" + ZipArchive.shown(s.key) + "' has no entry data/" + ZipArchive.shown(s.key));
            }
            long bytes = storageBytes(file, s);
            long holds = e.method() == 0 ? e.compressedSize() : e.size();
            if (holds < bytes || e.method() != 0 && holds != bytes) {
                throw LoaderException.of(file, s.user, "storage '" + ZipArchive.shown(s.key) + "' holds " + holds + " bytes, "
                        + s.numel + " × " + s.dtype + " need " + bytes);
            }
            s.zip = zip;
            s.entry = e;
            s.bytes = bytes;
            if (e.method() == 0) {
                s.entryData = zip.data(e, arena); // a view of the mapping: nothing is read yet
                s.storage = new Storage.Host(s.entryData.asSlice(0, bytes));
            } else {
                zip.allowInflating(bytes);        // inflated on first use, never more than the tensors need
            }
        }
        return stateDict(file, root);
    }

    /** The state dict a bare pickle describes (storages unresolved), as the zip format reads it; for fuzzing. */
    static Set<String> readPickle(Path file, MemorySegment pickle) {
        Object root = Pickle.load(file, pickle, 0, pickle.byteSize(), hooks(file, new LinkedHashMap<>(), false)).value();
        return stateDict(file, root).keySet();
    }

    // ------------------------------------------------------------------ legacy format

    private static Map<String, TensorRef> readLegacy(Path file, MemorySegment seg) {
        long size = seg.byteSize();
        Pickle.Hooks none = hooks(file, new LinkedHashMap<>(), true);
        Pickle.Result magic = Pickle.load(file, seg, 0, size, none);
        if (!(magic.value() instanceof BigInteger m) || !m.equals(LEGACY_MAGIC)) {
            throw LoaderException.of(file, null, "not a PyTorch checkpoint: first pickle is not the legacy magic number");
        }
        Pickle.Result protocol = Pickle.load(file, seg, magic.end(), size, none);
        if (!(protocol.value() instanceof Long version) || version != LEGACY_PROTOCOL) {
            throw LoaderException.of(file, null, "unsupported legacy protocol version " + Pickle.describe(protocol.value()));
        }
        Pickle.Result sysInfo = Pickle.load(file, seg, protocol.end(), size, none);
        if (sysInfo.value() instanceof Map<?, ?> info && Boolean.FALSE.equals(info.get("little_endian"))) {
            throw LoaderException.of(file, null, "big-endian legacy checkpoints are not supported");
        }
        Map<String, StorageRef> storages = new LinkedHashMap<>();
        Pickle.Result state = Pickle.load(file, seg, sysInfo.end(), size, hooks(file, storages, true));
        Pickle.Result keys = Pickle.load(file, seg, state.end(), size, none);
        if (!(keys.value() instanceof List<?> keyList)) {
            throw LoaderException.of(file, null, "legacy storage key list is missing");
        }
        long p = keys.end();
        for (Object k : keyList) {
            StorageRef s = k instanceof String key ? storages.get(key) : null;
            if (s == null) {
                throw LoaderException.of(file, null, "legacy storage key " + (k instanceof String ks ? ks : Pickle.describe(k)) + " is not used by any tensor");
            }
            if (p > size - 8) {
                throw LoaderException.of(file, s.user, "storage '" + s.key + "' header lies beyond the end of the file");
            }
            long count = seg.get(Le.I64, p);
            p += 8;
            if (count != s.numel) {
                throw LoaderException.of(file, s.user, "storage '" + s.key + "' holds " + count + " elements, the pickle says " + s.numel);
            }
            long bytes = storageBytes(file, s);
            if (bytes > size - p) {
                throw LoaderException.of(file, s.user, "storage '" + s.key + "' (" + bytes + " bytes at " + p + ") lies beyond the end of the file");
            }
            s.storage = new Storage.Host(seg.asSlice(p, bytes));
            p += bytes;
        }
        for (StorageRef s : storages.values()) {
            if (s.storage == null) {
                throw LoaderException.of(file, s.user, "storage '" + s.key + "' has no data");
            }
        }
        return stateDict(file, state.value());
    }

    private static long storageBytes(Path file, StorageRef s) {
        try {
            return Math.multiplyExact(s.numel, s.dtype.byteSize());
        } catch (ArithmeticException e) {
            throw LoaderException.of(file, s.user, "storage '" + s.key + "' size overflows");
        }
    }

    // ------------------------------------------------------------------ pickle hooks

    private static Pickle.Hooks hooks(Path file, Map<String, StorageRef> storages, boolean legacy) {
        return new Pickle.Hooks() {
            @Override
            public Object persistentLoad(Object pid, String name) {
                // ('storage', StorageType, key, location, numel[, view_metadata])
                if (!(pid instanceof Pickle.Tuple t) || t.size() < 5 || !"storage".equals(t.get(0))) {
                    throw LoaderException.of(file, name, "unsupported persistent id " + Pickle.describe(pid));
                }
                if (!(t.get(1) instanceof Pickle.Global g) || !g.module().equals("torch") || !Pickle.STORAGE_TYPES.contains(g.name())) {
                    throw LoaderException.of(file, name, "persistent id names no storage type: " + Pickle.describe(t.get(1)));
                }
                if (!(t.get(2) instanceof String key) || !(t.get(4) instanceof Long numel) || numel < 0) {
                    throw LoaderException.of(file, name, "malformed storage persistent id");
                }
                DType dtype = storageDType(g.name());
                StorageRef s = storages.get(key);
                if (s == null) {
                    s = new StorageRef(key, dtype, numel);
                    s.user = name;
                    storages.put(key, s);
                } else if (s.dtype != dtype || s.numel != numel) {
                    throw LoaderException.of(file, name, "storage '" + key + "' is described twice differently");
                }
                if (legacy && t.size() >= 6 && t.get(5) != null) {
                    // view_metadata: a slice of another storage, written only by torch < 1.0 for storage views
                    throw LoaderException.of(file, name, "storage '" + key + "' is a storage view, which is not supported");
                }
                return s;
            }

            @Override
            public Object call(Pickle.Global f, Pickle.Tuple a, String name) {
                return switch (f.name()) {
                    case "_rebuild_tensor_v2" -> rebuildTensor(file, name, a);
                    case "_rebuild_parameter" -> {
                        if (a.size() < 1 || !(a.get(0) instanceof TensorRef)) {
                            throw LoaderException.of(file, name, "_rebuild_parameter without a tensor");
                        }
                        yield a.get(0);
                    }
                    default -> throw LoaderException.of(file, name, "calling " + f + " is not allowed");
                };
            }
        };
    }

    private static DType storageDType(String type) {
        return switch (type) {
            case "FloatStorage" -> DType.F32;
            case "HalfStorage" -> DType.F16;
            case "BFloat16Storage" -> DType.BF16;
            case "DoubleStorage" -> DType.F64;
            case "LongStorage" -> DType.I64;
            case "IntStorage" -> DType.I32;
            case "ShortStorage" -> DType.I16;
            case "CharStorage" -> DType.I8;
            case "ByteStorage" -> DType.U8;
            case "BoolStorage" -> DType.BOOL;
            default -> throw new IllegalArgumentException(type);
        };
    }

    /** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
    private static TensorRef rebuildTensor(Path file, String name, Pickle.Tuple a) {
        if (a.size() < 4 || !(a.get(0) instanceof StorageRef s) || !(a.get(1) instanceof Long offset)
                || !(a.get(2) instanceof Pickle.Tuple size) || !(a.get(3) instanceof Pickle.Tuple stride)
                || size.size() != stride.size()) {
            throw LoaderException.of(file, name, "malformed _rebuild_tensor_v2 arguments");
        }
        long[] dims = new long[size.size()];
        long[] strides = new long[size.size()];
        for (int i = 0; i < dims.length; i++) {
            if (!(size.get(i) instanceof Long d) || !(stride.get(i) instanceof Long st)) {
                throw LoaderException.of(file, name, "non-integer tensor size or stride");
            }
            dims[i] = d;
            strides[i] = st;
        }
        int[] shape = Checks.shape(file, name, dims);
        return new TensorRef(s, offset, shape, strides);
    }

    /** The top-level dict: string keys to tensors (other values, such as ints, are ignored). */
    private static Map<String, TensorRef> stateDict(Path file, Object root) {
        if (!(root instanceof Map<?, ?> map)) {
            throw LoaderException.of(file, null, "checkpoint holds a " + Pickle.describe(root) + ", not a dict of tensors");
        }
        Map<String, TensorRef> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!(e.getKey() instanceof String name)) {
                throw LoaderException.of(file, null, "state dict key " + Pickle.describe(e.getKey()) + " is not a string");
            }
            if (e.getValue() instanceof TensorRef t) {
                checkBounds(file, name, t);
                out.put(name, t);
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static void checkBounds(Path file, String name, TensorRef t) {
        long numel = Checks.numel(file, name, t.shape);
        if (t.offset < 0) {
            throw LoaderException.of(file, name, "negative storage offset " + t.offset);
        }
        if (numel == 0) {
            return;
        }
        try {
            long last = t.offset;
            for (int i = 0; i < t.shape.length; i++) {
                if (t.stride[i] < 0) {
                    throw LoaderException.of(file, name, "negative stride " + Arrays.toString(t.stride));
                }
                last = Math.addExact(last, Math.multiplyExact(t.shape[i] - 1L, t.stride[i]));
            }
            if (last >= t.storage.numel) {
                throw LoaderException.of(file, name, "shape " + Arrays.toString(t.shape) + " strides " + Arrays.toString(t.stride)
                        + " at offset " + t.offset + " reach element " + last + " of a storage of " + t.storage.numel);
            }
            // A strided view is copied on get(): one that repeats elements (stride 0, overlapping rows)
            // would be materialised beyond its storage, so a 4-byte storage cannot become 6.4 GB.
            if (!isContiguous(t.shape, t.stride) && numel > t.storage.numel) {
                throw LoaderException.of(file, name, "shape " + Arrays.toString(t.shape) + " strides " + Arrays.toString(t.stride)
                        + " repeat elements: " + numel + " elements over a storage of " + t.storage.numel + " (stride-0 or overlapping view)");
            }
        } catch (ArithmeticException e) {
            throw LoaderException.of(file, name, "strides overflow");
        }
    }

    // ------------------------------------------------------------------ WeightSource

    @Override
    public String format() {
        return format;
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(tensors.keySet());
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo i = infos.get(name);
        if (i == null) {
            throw LoaderException.of(path, name, "no such tensor");
        }
        return i;
    }

    @Override
    public Tensor get(String name) {
        TensorRef t = tensors.get(name);
        if (t == null) {
            throw LoaderException.of(path, name, "no such tensor");
        }
        Storage storage = load(name, t.storage);
        DType dtype = t.storage.dtype;
        if (TensorInfo.numel(t.shape) == 0) {
            return Tensor.zeros(dtype, t.shape);
        }
        if (isContiguous(t.shape, t.stride)) {
            return Tensor.of(storage, dtype, t.offset, t.shape);
        }
        return stridedCopy(t, storage);
    }

    /**
     * A storage's bytes: inflated the first time a tensor of it is read (deflated entries), and its
     * CRC-32 checked once (legacy files have none).
     */
    private Storage load(String tensor, StorageRef s) {
        if (s.zip == null || s.verified) {
            return s.storage;
        }
        synchronized (s) {
            if (!s.verified) {
                if (s.entryData == null) {
                    s.entryData = s.zip.data(s.entry, arena);
                    s.storage = new Storage.Host(s.entryData);
                }
                s.zip.checkCrc(s.entry, s.entryData, tensor);
                s.verified = true;
            }
        }
        return s.storage;
    }

    private static boolean isContiguous(int[] shape, long[] stride) {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }

    private static Tensor stridedCopy(TensorRef t, Storage storage) {
        DType dtype = t.storage.dtype;
        int es = dtype.byteSize();
        Tensor out = Tensor.zeros(dtype, t.shape);
        MemorySegment src = storage.segment(), dst = out.segment();
        int[] idx = new int[t.shape.length];
        long n = TensorInfo.numel(t.shape);
        for (long i = 0; i < n; i++) {
            long o = t.offset;
            for (int d = 0; d < idx.length; d++) {
                o += idx[d] * t.stride[d];
            }
            MemorySegment.copy(src, o * es, dst, i * es, es);
            for (int d = idx.length - 1; d >= 0; d--) {
                if (++idx[d] < t.shape[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return out;
    }

    @Override
    public Map<String, String> metadata() {
        return Map.of();
    }

    @Override
    public void close() {
        arena.close();
    }

    /** Names of tensors that share storage with another tensor (tied weights), for diagnostics. */
    public List<List<String>> sharedStorages() {
        Map<StorageRef, List<String>> by = new LinkedHashMap<>();
        tensors.forEach((n, t) -> by.computeIfAbsent(t.storage, k -> new ArrayList<>()).add(n));
        List<List<String>> out = new ArrayList<>();
        for (List<String> l : by.values()) {
            if (l.size() > 1) {
                out.add(List.copyOf(l));
            }
        }
        return out;
    }
}
