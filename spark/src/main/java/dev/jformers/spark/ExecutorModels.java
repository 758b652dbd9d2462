package dev.jformers.spark;

import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.JformersException;
import dev.jformers.pipelines.Pipeline;
import dev.jformers.pipelines.Pipelines;

import java.io.Serializable;
import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The models of this JVM (an executor, or the driver in local mode): each loaded the first time a task asks for it
 * and then shared by every task of the JVM. Weights are read-only and a pipeline is thread-safe, so concurrent tasks
 * share one copy. Tasks carry only a {@link Key} (a few strings), never a model.
 */
final class ExecutorModels {
    private ExecutorModels() {
    }

    /**
     * What identifies a loaded model: the pipeline task, the model (a folder on this node or shared storage, or an id
     * that {@link dev.jformers.models.hub.ModelResolver} resolves here), the backend and its thread count.
     */
    record Key(String task, String model, String backend, int threads) implements Serializable {
    }

    private static final ConcurrentMap<Key, Pipeline> MODELS = new ConcurrentHashMap<>();

    /** The pipeline for {@code key}, loading it on first use (concurrent first uses wait for one load). */
    static Pipeline get(Key key) {
        return MODELS.computeIfAbsent(key, ExecutorModels::load);   // a failed load is not cached: the next task retries
    }

    private static Pipeline load(Key key) {
        Backend backend;
        try {
            backend = Backends.create(key.backend(), key.threads());
        } catch (RuntimeException e) {
            throw new JformersException("jformers on " + host() + ": cannot create backend '" + key.backend() + "': "
                    + e.getMessage(), e);
        }
        try {
            return Pipelines.pipeline(key.task(), key.model(), backend);   // the backend stays open for the JVM's life
        } catch (RuntimeException e) {
            backend.close();
            throw new JformersException("jformers on " + host() + ": cannot load the " + key.task() + " model '"
                    + key.model() + "': " + e.getMessage(), e);
        }
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "this executor";
        }
    }

    /** Closes and forgets every model of this JVM (tests; a later task loads again). */
    static synchronized void clear() {
        MODELS.values().forEach(p -> p.model().backend().close());
        MODELS.clear();
    }
}
