package dev.jformers.loaders;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jformers.core.JsonErrors;
import dev.jformers.core.ModelFolder;
import dev.jformers.core.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A checkpoint split into shards by {@code save_pretrained(max_shard_size=…)}: an index JSON
 * ({@code {"metadata": {...}, "weight_map": {name: shard file}}}) next to the shards. Each
 * named shard is opened once; shards no key points to (HF writes an empty first shard
 * sometimes) are not opened.
 */
public final class ShardedSource implements WeightSource {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path index;
    private final String format;
    private final Map<String, WeightSource> byName;
    private final List<WeightSource> shards;
    private final Map<String, String> metadata;

    private ShardedSource(Path index, String format, Map<String, WeightSource> byName, List<WeightSource> shards, Map<String, String> metadata) {
        this.index = index;
        this.format = format;
        this.byName = byName;
        this.shards = shards;
        this.metadata = metadata;
    }

    /** Opens the shards of {@code indexFile} with {@code opener} (one shard file → one source). */
    public static ShardedSource open(Path indexFile, Function<Path, WeightSource> opener) {
        JsonNode root;
        try {
            if (Files.size(indexFile) > SafetensorsFile.MAX_HEADER) {
                throw LoaderException.of(indexFile, null, "index file larger than 100 MB");
            }
            root = JSON.readTree(Files.readAllBytes(indexFile));
        } catch (JacksonException e) {
            throw new LoaderException(JsonErrors.message(indexFile, e));
        } catch (IOException e) {
            throw LoaderException.of(indexFile, null, "cannot read: " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw LoaderException.of(indexFile, null, "index has no weight_map object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode meta = root.get("metadata");
        if (meta != null && meta.isObject()) {
            meta.properties().forEach(e -> metadata.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString()));
        }
        Path dir = indexFile.toAbsolutePath().normalize().getParent();
        // By real path: "a.bin", "./a.bin" and a link to it are one shard, opened once.
        Map<Path, WeightSource> opened = new LinkedHashMap<>();
        Map<String, WeightSource> byName = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, JsonNode> e : map.properties()) {
                String name = e.getKey();
                if (!e.getValue().isTextual()) {
                    throw LoaderException.of(indexFile, name, "weight_map value is not a file name");
                }
                String shard = e.getValue().asText();
                Path p = dir.resolve(shard).normalize();
                // A shard must be a plain file next to the index, never a path elsewhere.
                if (shard.isEmpty() || !dir.equals(p.getParent())) {
                    throw LoaderException.of(indexFile, name, "shard '" + ZipArchive.shown(shard) + "' is not a file in " + dir);
                }
                Path real = realShard(indexFile, name, dir, p);
                WeightSource src = opened.get(real);
                if (src == null) {
                    src = opener.apply(p);
                    opened.put(real, src);
                }
                if (!src.contains(name)) {
                    throw LoaderException.of(p, name, "listed in " + indexFile.getFileName() + " but missing from the shard");
                }
                byName.put(name, src);
            }
        } catch (RuntimeException ex) {
            opened.values().forEach(WeightSource::close);
            throw ex;
        }
        String format = "sharded " + (opened.isEmpty() ? "?" : opened.values().iterator().next().format());
        return new ShardedSource(indexFile, format, Collections.unmodifiableMap(byName), new ArrayList<>(opened.values()),
                Collections.unmodifiableMap(metadata));
    }

    /** The shard's real path, after refusing a link that leads out of the folder. */
    private static Path realShard(Path indexFile, String name, Path dir, Path shard) {
        String escape = ModelFolder.escape(dir, shard);
        if (escape != null) {
            throw LoaderException.of(shard, null, escape);
        }
        try {
            return shard.toRealPath();
        } catch (IOException e) {
            throw LoaderException.of(shard, name, "listed in " + indexFile.getFileName() + " but cannot be opened ("
                    + e.getClass().getSimpleName() + ")");
        }
    }

    @Override
    public String format() {
        return format;
    }

    @Override
    public Path path() {
        return index;
    }

    @Override
    public Set<String> names() {
        return byName.keySet();
    }

    private WeightSource shard(String name) {
        WeightSource s = byName.get(name);
        if (s == null) {
            throw LoaderException.of(index, name, "no such tensor");
        }
        return s;
    }

    @Override
    public TensorInfo info(String name) {
        return shard(name).info(name);
    }

    @Override
    public Tensor get(String name) {
        return shard(name).get(name);
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The opened shard sources, in first-use order. */
    public List<WeightSource> shards() {
        return Collections.unmodifiableList(shards);
    }

    @Override
    public void close() {
        for (WeightSource s : shards) {
            s.close();
        }
    }
}
