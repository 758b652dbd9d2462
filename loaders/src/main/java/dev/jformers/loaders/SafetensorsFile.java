package dev.jformers.loaders;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import dev.jformers.core.DType;
import dev.jformers.core.JsonErrors;
import dev.jformers.core.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A safetensors file: an 8-byte little-endian header length, a JSON header
 * ({@code name -> {dtype, shape, data_offsets}} plus {@code __metadata__}), then the data.
 * The file is mapped once; every tensor is a zero-copy view of that mapping. Everything the
 * header claims is checked against the file before use.
 */
public final class SafetensorsFile implements WeightSource {
    /** Hugging Face's safetensors refuses headers above 100 MB; so do we. */
    static final long MAX_HEADER = 100L << 20;
    private static final JsonFactory JSON = JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private record Entry(TensorInfo info, long begin, long end) {
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Maps and validates {@code file}. */
    public static SafetensorsFile open(Path file) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment all = MappedFile.map(file, arena);
            long size = all.byteSize();
            if (size < 8) {
                throw LoaderException.of(file, null, "file of " + size + " bytes is too short for a safetensors header");
            }
            long n = all.get(Le.I64, 0);
            if (n < 0 || n > size - 8) {
                throw LoaderException.of(file, null, "header length " + Long.toUnsignedString(n) + " exceeds the file size " + size);
            }
            if (n > MAX_HEADER) {
                throw LoaderException.of(file, null, "header length " + n + " exceeds the 100 MB limit");
            }
            byte[] header = all.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
            MemorySegment data = all.asSlice(8 + n);
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, Entry> entries = parseHeader(file, header, data.byteSize(), metadata);
            return new SafetensorsFile(file, arena, data, entries, Collections.unmodifiableMap(metadata));
        } catch (RuntimeException e) {
            arena.close();
            if (e instanceof LoaderException) {
                throw e;
            }
            throw LoaderException.of(file, null, "malformed safetensors file: " + e, e);
        }
    }

    /** Parses the header with Jackson's streaming parser (far cheaper to start than a full ObjectMapper). */
    private static Map<String, Entry> parseHeader(Path file, byte[] header, long dataSize, Map<String, String> metadata) {
        Map<String, Entry> entries = new LinkedHashMap<>();
        try (JsonParser p = JSON.createParser(header)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw LoaderException.of(file, null, "header is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (name.equals("__metadata__")) {
                    if (value != JsonToken.START_OBJECT) {
                        throw LoaderException.of(file, null, "__metadata__ is not an object");
                    }
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String key = p.currentName();
                        if (p.nextToken() != JsonToken.VALUE_STRING) {
                            throw LoaderException.of(file, null, "__metadata__ value '" + key + "' is not a string");
                        }
                        metadata.put(key, p.getText());
                    }
                    continue;
                }
                entries.put(name, parseEntry(file, name, p, dataSize));
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw LoaderException.of(file, null, "header is not a single JSON object");
            }
        } catch (JacksonException e) {
            throw new LoaderException(JsonErrors.message(file + ": header", e));
        } catch (IOException e) {
            throw LoaderException.of(file, null, "cannot parse header: " + e.getMessage(), e);
        }
        checkNoOverlap(file, entries);
        return entries;
    }

    /** One {"dtype": …, "shape": […], "data_offsets": [begin, end]} object, the parser on its START_OBJECT. */
    private static Entry parseEntry(Path file, String name, JsonParser p, long dataSize) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw LoaderException.of(file, name, "header entry is not an object");
        }
        String dtypeName = null;
        long[] dims = null, offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            switch (field) {
                case "dtype" -> {
                    if (v != JsonToken.VALUE_STRING) {
                        throw LoaderException.of(file, name, "dtype is not a string");
                    }
                    dtypeName = p.getText();
                }
                case "shape" -> dims = integers(file, name, p, "shape");
                case "data_offsets" -> offsets = integers(file, name, p, "data_offsets");
                default -> p.skipChildren();
            }
        }
        if (dtypeName == null) {
            throw LoaderException.of(file, name, "missing dtype");
        }
        DType dtype = DType.fromSafetensorsName(dtypeName);
        if (dtype == null) {
            throw LoaderException.of(file, name, "unknown dtype '" + dtypeName + "'");
        }
        if (dims == null) {
            throw LoaderException.of(file, name, "missing shape");
        }
        int[] shape = Checks.shape(file, name, dims);
        if (offsets == null || offsets.length != 2) {
            throw LoaderException.of(file, name, "data_offsets is not a pair");
        }
        long begin = offsets[0], end = offsets[1];
        if (begin < 0 || end < begin) {
            throw LoaderException.of(file, name, "data_offsets [" + begin + ", " + end + "] are not an interval");
        }
        if (end > dataSize) {
            throw LoaderException.of(file, name, "data_offsets [" + begin + ", " + end + "] lie beyond the data section of " + dataSize + " bytes (truncated file?)");
        }
        long bytes = Checks.byteSize(file, name, dtype, shape);
        if (bytes != end - begin) {
            throw LoaderException.of(file, name, dtype + java.util.Arrays.toString(shape) + " needs " + bytes
                    + " bytes but data_offsets span " + (end - begin));
        }
        return new Entry(new TensorInfo(name, dtype, shape, bytes), begin, end);
    }

    /** A JSON array of integers that fit a long (at most 64 of them, like any rank we accept). */
    private static long[] integers(Path file, String name, JsonParser p, String what) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw LoaderException.of(file, name, what + " is not an array");
        }
        long[] out = new long[4];
        int n = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                throw LoaderException.of(file, name, what + " holds a non-integer or too large value: " + p.getText());
            }
            if (n == 64) {
                throw LoaderException.of(file, name, what + " has more than 64 entries");
            }
            if (n == out.length) {
                out = java.util.Arrays.copyOf(out, n * 2);
            }
            out[n++] = p.getLongValue();
        }
        return java.util.Arrays.copyOf(out, n);
    }

    private static void checkNoOverlap(Path file, Map<String, Entry> entries) {
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.removeIf(e -> e.begin == e.end);
        sorted.sort(Comparator.comparingLong(Entry::begin));
        for (int i = 1; i < sorted.size(); i++) {
            Entry a = sorted.get(i - 1), b = sorted.get(i);
            if (b.begin < a.end) {
                throw LoaderException.of(file, b.info.name(), "data_offsets [" + b.begin + ", " + b.end + "] overlap tensor '"
                        + a.info.name() + "' [" + a.begin + ", " + a.end + "]");
            }
        }
    }

    @Override
    public String format() {
        return "safetensors";
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(entries.keySet());
    }

    @Override
    public TensorInfo info(String name) {
        return entry(name).info;
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw LoaderException.of(path, name, "no such tensor");
        }
        return e;
    }

    @Override
    public Tensor get(String name) {
        Entry e = entry(name);
        return Tensor.wrap(data.asSlice(e.begin, e.end - e.begin), e.info.dtype(), e.info.shape());
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
