package dev.jformers.loaders;

import dev.jformers.core.DType;
import dev.jformers.core.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The weights of an ONNX model: the graph's initializers (raw_data served zero-copy from the
 * mapped file; float_data/int32_data/int64_data/double_data copied). Exporters store a Linear
 * layer as MatMul with an anonymous [in, out] initializer ({@code onnx::MatMul_123}); such a
 * weight gets its Hugging Face name back from the bias of the Add that follows the MatMul
 * ({@code encoder.layer.0.attention.self.query.bias} → {@code ….query.weight}) or else from
 * the MatMul node's name ({@code /encoder/layer.0/attention/self/query/MatMul}), and is
 * transposed to HF's [out, in]. External data is not supported.
 */
public final class OnnxWeights implements WeightSource {
    /** An initializer as stored. */
    private record Init(String name, DType dtype, int[] shape, MemorySegment raw, Tensor copied) {
    }

    private record Node(String name, String op, List<String> inputs, List<String> outputs) {
    }

    private final Path path;
    private final Arena arena;
    private final Map<String, Init> inits;                  // by ONNX name
    private final Map<String, MappedSource.Mapping> names;  // HF name -> ONNX name + transform
    private final Map<String, String> metadata;

    private OnnxWeights(Path path, Arena arena, Map<String, Init> inits, Map<String, MappedSource.Mapping> names, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.inits = inits;
        this.names = names;
        this.metadata = metadata;
    }

    public static OnnxWeights open(Path file) {
        Arena arena = Arena.ofShared();
        try {
            return read(file, arena);
        } catch (RuntimeException e) {
            arena.close();
            if (e instanceof LoaderException) {
                throw e;
            }
            throw LoaderException.of(file, null, "malformed ONNX model: " + e, e);
        }
    }

    private static OnnxWeights read(Path file, Arena arena) {
        MemorySegment seg = MappedFile.map(file, arena);
        ProtoReader model = new ProtoReader(file, "ModelProto", seg);
        Map<String, String> metadata = new LinkedHashMap<>();
        MemorySegment graph = null;
        while (model.next()) {
            switch (model.field()) {
                case 1 -> metadata.put("ir_version", Long.toString(model.int64()));
                case 2 -> metadata.put("producer_name", model.string());
                case 3 -> metadata.put("producer_version", model.string());
                case 7 -> graph = model.bytes();
                default -> model.skip();
            }
        }
        if (graph == null) {
            throw LoaderException.of(file, null, "ONNX model has no graph");
        }
        Map<String, Init> inits = new LinkedHashMap<>();
        List<Node> nodes = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        ProtoReader g = new ProtoReader(file, "GraphProto", graph);
        while (g.next()) {
            switch (g.field()) {
                case 1 -> nodes.add(node(g.message("node")));
                case 5 -> {
                    Init init = tensor(file, g.bytes());
                    if (init.dtype == null) {
                        skipped.add(init.name);
                    } else {
                        inits.put(init.name, init);
                    }
                }
                default -> g.skip();
            }
        }
        if (!skipped.isEmpty()) {
            metadata.put("skipped", String.join(",", skipped));
        }
        return new OnnxWeights(file, arena, Collections.unmodifiableMap(inits), hfNames(inits, nodes), Collections.unmodifiableMap(metadata));
    }

    private static Node node(ProtoReader r) {
        String name = "", op = "";
        List<String> in = new ArrayList<>(), out = new ArrayList<>();
        while (r.next()) {
            switch (r.field()) {
                case 1 -> in.add(r.string());
                case 2 -> out.add(r.string());
                case 3 -> name = r.string();
                case 4 -> op = r.string();
                default -> r.skip();
            }
        }
        return new Node(name, op, in, out);
    }

    /**
     * Parses a TensorProto; dtype null when the element type is not one jformers holds. Typed
     * fields are read in two passes: count the values first, and only when the count matches
     * the shape allocate the tensor and decode them into it.
     */
    private static Init tensor(Path file, MemorySegment proto) {
        ProtoReader r = new ProtoReader(file, "initializer", proto);
        List<Long> dims = new ArrayList<>();
        int type = 0;
        String name = "";
        MemorySegment raw = null;
        boolean external = false;
        long values = 0;
        while (r.next()) {
            switch (r.field()) {
                case 1 -> {
                    for (long d : r.packedVarints()) {
                        if (dims.size() >= 64) {
                            throw LoaderException.of(file, name, "rank above 64");
                        }
                        dims.add(d);
                    }
                }
                case 2 -> type = (int) r.int64();
                case 3 -> throw LoaderException.of(file, name, "segmented tensors are not supported");
                case 4, 5, 7, 10 -> values += countValues(r);
                case 8 -> name = r.string();
                case 9 -> raw = r.bytes();
                case 13 -> {
                    external = true;
                    r.skip();
                }
                case 14 -> external |= r.int64() == 1;
                default -> r.skip();
            }
        }
        if (external) {
            throw LoaderException.of(file, name, "initializer uses external data, which is not supported (save the model with all tensors inside the .onnx file)");
        }
        DType dtype = switch (type) {
            case 1 -> DType.F32;
            case 2 -> DType.U8;
            case 3 -> DType.I8;
            case 5 -> DType.I16;
            case 6 -> DType.I32;
            case 7 -> DType.I64;
            case 9 -> DType.BOOL;
            case 10 -> DType.F16;
            case 11 -> DType.F64;
            case 16 -> DType.BF16;
            default -> null;
        };
        if (dtype == null) {
            return new Init(name, null, new int[0], null, null);
        }
        int[] shape = Checks.shape(file, name, dims.stream().mapToLong(Long::longValue).toArray());
        long bytes = Checks.byteSize(file, name, dtype, shape);
        long numel = bytes / Math.max(1, dtype.byteSize());
        if (raw != null) {
            if (raw.byteSize() != bytes) {
                throw LoaderException.of(file, name, dtype + Arrays.toString(shape) + " needs " + bytes + " bytes, raw_data holds " + raw.byteSize());
            }
            return new Init(name, dtype, shape, raw, null);
        }
        if (values != numel) {
            throw LoaderException.of(file, name, dtype + Arrays.toString(shape) + " needs " + numel + " values, the typed fields hold " + values);
        }
        Tensor t = Tensor.zeros(dtype, shape);
        MemorySegment out = t.segment();
        long i = 0;
        ProtoReader again = new ProtoReader(file, "initializer '" + name + "'", proto);
        while (again.next()) {
            int f = again.field();
            if (f != 4 && f != 5 && f != 7 && f != 10) {
                again.skip();
                continue;
            }
            boolean packed = again.wireType() == ProtoReader.LEN;
            ProtoReader vals = packed ? new ProtoReader(file, "initializer '" + name + "'", again.bytes()) : again;
            do {
                switch (f) {
                    case 4 -> store(out, dtype, i++, Float.intBitsToFloat(vals.fixed32()), 0);
                    case 10 -> store(out, dtype, i++, Double.longBitsToDouble(vals.fixed64()), 0);
                    default -> store(out, dtype, i++, 0, vals.varint());
                }
            } while (packed && vals.remaining() > 0);
        }
        return new Init(name, dtype, shape, null, t);
    }

    /** How many values one occurrence of a typed data field holds (packed or not), without decoding them. */
    private static long countValues(ProtoReader r) {
        int f = r.field();
        if (r.wireType() != ProtoReader.LEN) {
            int expected = f == 4 ? ProtoReader.FIXED32 : f == 10 ? ProtoReader.FIXED64 : ProtoReader.VARINT;
            if (r.wireType() != expected) {
                throw LoaderException.of(r.file(), null, "typed data field " + f + " has wire type " + r.wireType());
            }
            r.skip();
            return 1;
        }
        MemorySegment s = r.bytes();
        if (f == 4) {
            return s.byteSize() / 4;
        }
        if (f == 10) {
            return s.byteSize() / 8;
        }
        long n = 0; // varints: one value ends at each byte below 0x80
        for (long k = 0; k < s.byteSize(); k++) {
            if (s.get(ValueLayout.JAVA_BYTE, k) >= 0) {
                n++;
            }
        }
        return n;
    }

    /** Writes element {@code i}: a float value for F32/F64, the integer (or raw 16-bit pattern) otherwise. */
    private static void store(MemorySegment out, DType dtype, long i, double f, long v) {
        switch (dtype) {
            case F32 -> out.setAtIndex(Le.F32, i, (float) f);
            case F64 -> out.setAtIndex(Le.F64, i, f);
            case I64 -> out.setAtIndex(Le.I64, i, v);
            case I32 -> out.setAtIndex(Le.I32, i, (int) v);
            case I16, F16, BF16 -> out.setAtIndex(Le.I16, i, (short) v);
            default -> out.set(ValueLayout.JAVA_BYTE, i, (byte) v);
        }
    }

    /** HF names: initializers keep theirs, except anonymous MatMul weights, which get a name and a transpose. */
    private static Map<String, MappedSource.Mapping> hfNames(Map<String, Init> inits, List<Node> nodes) {
        Map<String, List<Node>> consumers = new HashMap<>();
        for (Node n : nodes) {
            for (String in : n.inputs) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
        Map<String, String> renamed = new HashMap<>();
        Set<String> taken = new HashSet<>();           // names given so far: a set, so recovery stays linear
        Map<String, String> fromBias = new HashMap<>(); // MatMul output -> name found from its Add, looked up once
        for (Node n : nodes) {
            if (!n.op.equals("MatMul") || n.inputs.size() != 2 || n.outputs.isEmpty()) {
                continue;
            }
            Init w = inits.get(n.inputs.get(1));
            if (w == null || w.shape.length != 2 || !isAnonymous(w.name) || renamed.containsKey(w.name)) {
                continue;
            }
            String output = n.outputs.getFirst();
            String hf = fromBias.computeIfAbsent(output, o -> {
                String found = "";
                for (Node add : consumers.getOrDefault(o, List.of())) {
                    if (add.op.equals("Add") && add.inputs.size() == 2) {
                        String other = add.inputs.get(0).equals(o) ? add.inputs.get(1) : add.inputs.get(0);
                        if (inits.containsKey(other) && other.endsWith(".bias")) {
                            found = other.substring(0, other.length() - ".bias".length()) + ".weight";
                        }
                    }
                }
                return found;
            });
            if (hf.isEmpty()) {
                hf = null;
            }
            if (hf == null && n.name.startsWith("/") && n.name.matches(".*/MatMul(_\\d+)?")) {
                String path = n.name.substring(1, n.name.lastIndexOf('/'));
                if (!path.isEmpty()) {
                    hf = path.replace('/', '.') + ".weight";
                }
            }
            if (hf != null && !inits.containsKey(hf) && taken.add(hf)) {
                renamed.put(w.name, hf);
            }
        }
        Map<String, MappedSource.Mapping> out = new LinkedHashMap<>();
        for (Init i : inits.values()) {
            String hf = renamed.get(i.name);
            if (hf != null) {
                out.put(hf, new MappedSource.Mapping(i.name, Transform.TRANSPOSE));
            } else {
                out.put(i.name, new MappedSource.Mapping(i.name, Transform.NONE));
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static boolean isAnonymous(String name) {
        return name.contains("::") || !name.contains(".");
    }

    @Override
    public String format() {
        return "onnx";
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public Set<String> names() {
        return names.keySet();
    }

    private MappedSource.Mapping mapping(String name) {
        MappedSource.Mapping m = names.get(name);
        if (m == null) {
            throw LoaderException.of(path, name, "no such tensor");
        }
        return m;
    }

    @Override
    public TensorInfo info(String name) {
        MappedSource.Mapping m = mapping(name);
        Init i = inits.get(m.source());
        return TensorInfo.of(name, i.dtype, m.transform().shape(i.shape));
    }

    @Override
    public Tensor get(String name) {
        MappedSource.Mapping m = mapping(name);
        return m.transform().apply(getStored(m.source()));
    }

    /** The initializer as stored in the file, under its ONNX name (no renaming, no transpose). */
    public Tensor getStored(String onnxName) {
        Init i = inits.get(onnxName);
        if (i == null) {
            throw LoaderException.of(path, onnxName, "no such initializer");
        }
        return i.copied != null ? i.copied : Tensor.wrap(i.raw, i.dtype, i.shape);
    }

    /** The ONNX initializer name behind an HF name (the same name unless it was recovered). */
    public String onnxName(String name) {
        return mapping(name).source();
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
