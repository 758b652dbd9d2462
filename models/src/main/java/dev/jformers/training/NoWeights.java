package dev.jformers.training;

import dev.jformers.core.Tensor;
import dev.jformers.loaders.LoaderException;
import dev.jformers.loaders.TensorInfo;
import dev.jformers.loaders.WeightSource;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/** The empty checkpoint a model trained from scratch starts from: every weight is newly initialized. */
record NoWeights(Path path) implements WeightSource {
    @Override
    public String format() {
        return "none";
    }

    @Override
    public Set<String> names() {
        return Set.of();
    }

    @Override
    public TensorInfo info(String name) {
        throw new LoaderException("no weight '" + name + "': the model starts from scratch");
    }

    @Override
    public Tensor get(String name) {
        throw new LoaderException("no weight '" + name + "': the model starts from scratch");
    }

    @Override
    public Map<String, String> metadata() {
        return Map.of();
    }

    @Override
    public void close() {
    }
}
