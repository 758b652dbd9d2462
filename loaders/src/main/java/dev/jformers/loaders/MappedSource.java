package dev.jformers.loaders;

import dev.jformers.core.Tensor;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A view of another source under new names, each with a {@link Transform}. Closing it closes
 * the underlying source.
 */
public final class MappedSource implements WeightSource {
    /** Where a mapped name comes from. */
    public record Mapping(String source, Transform transform) {
    }

    private final WeightSource base;
    private final Map<String, Mapping> map;

    /** {@code map}: new name → (old name, transform); order gives {@link #names()} order. */
    public MappedSource(WeightSource base, Map<String, Mapping> map) {
        this.base = base;
        this.map = Collections.unmodifiableMap(new LinkedHashMap<>(map));
    }

    public WeightSource base() {
        return base;
    }

    /** New name → old name and transform. */
    public Map<String, Mapping> mapping() {
        return map;
    }

    private Mapping mappingOf(String name) {
        Mapping m = map.get(name);
        if (m == null) {
            throw LoaderException.of(base.path(), name, "no such tensor");
        }
        return m;
    }

    @Override
    public String format() {
        return base.format();
    }

    @Override
    public Path path() {
        return base.path();
    }

    @Override
    public Set<String> names() {
        return map.keySet();
    }

    @Override
    public TensorInfo info(String name) {
        Mapping m = mappingOf(name);
        TensorInfo i = base.info(m.source());
        return new TensorInfo(name, i.dtype(), m.transform().shape(i.shape()), i.byteSize());
    }

    @Override
    public Tensor get(String name) {
        Mapping m = mappingOf(name);
        return m.transform().apply(base.get(m.source()));
    }

    @Override
    public Map<String, String> metadata() {
        return base.metadata();
    }

    @Override
    public void close() {
        base.close();
    }
}
