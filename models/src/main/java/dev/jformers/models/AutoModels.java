package dev.jformers.models;

import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.JformersException;
import dev.jformers.loaders.Checkpoints;
import dev.jformers.loaders.WeightSource;
import dev.jformers.models.hub.ModelResolver;

import java.lang.ref.Cleaner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * What every Auto class does: read config.json, pick the class for the task and model type,
 * open the weights (safetensors, then .bin, then a TF checkpoint; sharded or not), build the
 * model, and fail naming every missing weight.
 */
public final class AutoModels {
    private AutoModels() {
    }

    /** Builds the model for {@code task} from a model folder or id ({@link ModelResolver}) on {@code backend} (null: its own). */
    public static PreTrainedModel load(Task task, String idOrPath, Backend backend) {
        return load(task, ModelResolver.resolve(idOrPath), backend);
    }

    /** Builds the model for {@code task} from the folder {@code dir} on {@code backend} (null: its own default backend). */
    public static PreTrainedModel load(Task task, Path dir, Backend backend) {
        PretrainedConfig config = PretrainedConfig.fromPretrained(dir);
        String className = ModelRegistry.classFor(task, config.modelType());
        if (className == null) {
            throw new ConfigException(task.autoClass() + ": no model for model_type '" + config.modelType() + "'");
        }
        return load(className, config, dir, backend);
    }

    /** The base model's attribute name in head classes ("bert", "roberta", "distilbert", "transformer"). */
    public static String basePrefix(String modelType) {
        return ModelRegistry.BASE_PREFIX.getOrDefault(modelType, "");
    }

    /** The class the Auto class of {@code task} builds for this config, e.g. "BertForSequenceClassification". */
    public static String className(Task task, PretrainedConfig config) {
        String className = ModelRegistry.classFor(task, config.modelType());
        if (className == null) {
            throw new ConfigException(task.autoClass() + ": no model for model_type '" + config.modelType() + "'");
        }
        return className;
    }

    /** The class named in config.json's {@code architectures} that jformers has, else the base model. */
    public static String architectureClass(PretrainedConfig config) {
        return config.common().architectures().stream().filter(ModelRegistry::has).findFirst()
                .orElse(ModelRegistry.classFor(Task.BASE, config.modelType()));
    }

    /**
     * Builds the class named in config.json's {@code architectures} (what {@code from_pretrained}
     * of that exact class would do), or the base model when none is named.
     */
    public static PreTrainedModel loadArchitecture(Path dir, Backend backend) {
        PretrainedConfig config = PretrainedConfig.fromPretrained(dir);
        String className = config.common().architectures().stream().filter(ModelRegistry::has).findFirst()
                .orElse(ModelRegistry.classFor(Task.BASE, config.modelType()));
        return load(className, config, dir, backend);
    }

    /** Builds the model class called {@code className} (e.g. "BertForMaskedLM"). */
    public static PreTrainedModel load(String className, PretrainedConfig config, Path dir, Backend backend) {
        if (!Files.isDirectory(dir)) {
            throw new JformersException("model folder not found: " + dir);
        }
        // Backends copy what they keep (Backend.upload), so the files are unmapped as soon as the model is
        // built: a loaded model costs its weights' size once, not twice.
        try (WeightSource source = Checkpoints.open(dir)) {
            return load(className, config, source, backend);
        }
    }

    /**
     * Builds {@code className} from an open weight source (a single file, a shard index, …). The model keeps
     * copies of what it reads, so the caller may close the source right after.
     *
     * @param backend where the model runs; null: the default backend, created for this model and closed with it
     */
    public static PreTrainedModel load(String className, PretrainedConfig config, WeightSource source, Backend backend) {
        return load(className, config, source, backend, null);
    }

    /**
     * Builds {@code className} from {@code source}; weights the source lacks are newly initialized by
     * {@code initializer} (HF's from_pretrained of a task head on a base model; an empty source is training
     * from scratch), or, when it is null, reported as missing.
     *
     * @param backend where the model runs; null: the default backend, created for this model and closed with it
     */
    public static PreTrainedModel load(String className, PretrainedConfig config, WeightSource source, Backend backend,
                                       WeightInitializer initializer) {
        Backend owned = backend == null ? Backends.create(null) : null;
        Backend b = backend != null ? backend : owned;
        try {
            ModelWeights weights = ModelWeights.of(source, source.path().toString(), b,
                    ModelRegistry.BASE_PREFIX.getOrDefault(config.modelType(), ""));
            if (initializer != null) {
                weights.initializeMissing(initializer);
            } else {
                config.checkWeights(weights); // sizes against the checkpoint, before anything is allocated
            }
            PreTrainedModel model = ModelRegistry.create(className, config, weights);
            weights.finish(className);
            if (owned != null) {
                own(model, owned);
            }
            return model;
        } catch (RuntimeException | Error e) {
            if (owned != null) {
                owned.close();
            }
            throw e;
        }
    }

    // ------------------------------------------------------------------ backends owned by their model

    private static final Cleaner CLEANER = Cleaner.create();
    /** Models built on a backend of their own, with the action that closes it (at most once). */
    private static final Map<PreTrainedModel, Cleaner.Cleanable> OWNED = new WeakHashMap<>();

    /**
     * Makes {@code model} the owner of {@code backend}: closing the model closes it, and so does the
     * garbage collector when a model is dropped unclosed (the backend's worker threads don't outlive it).
     */
    private static void own(PreTrainedModel model, Backend backend) {
        Cleaner.Cleanable closer = CLEANER.register(model, backend::close);
        synchronized (OWNED) {
            OWNED.put(model, closer);
        }
    }

    /** {@link PreTrainedModel#close()}: closes the backend the model owns, if any. */
    static void release(PreTrainedModel model) {
        Cleaner.Cleanable closer;
        synchronized (OWNED) {
            closer = OWNED.remove(model);
        }
        if (closer != null) {
            closer.clean();
        }
    }
}
