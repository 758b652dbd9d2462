package dev.jformers.models;

import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.JformersException;
import dev.jformers.loaders.Checkpoints;
import dev.jformers.loaders.WeightSource;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What every Auto class does: read config.json, pick the class for the task and model type,
 * open the weights (safetensors, then .bin, then a TF checkpoint; sharded or not), build the
 * model, and fail naming every missing weight.
 */
public final class AutoModels {
    private AutoModels() {
    }

    /** Builds the model for {@code task} from the folder {@code dir} on {@code backend} (null: the default one). */
    public static PreTrainedModel load(Task task, Path dir, Backend backend) {
        PretrainedConfig config = PretrainedConfig.fromPretrained(dir);
        String className = ModelRegistry.classFor(task, config.modelType());
        if (className == null) {
            throw new ConfigException(task.autoClass() + ": no model for model_type '" + config.modelType() + "'");
        }
        return load(className, config, dir, backend);
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
        // The source stays open for the model's lifetime: its tensors are views of mapped files.
        return load(className, config, Checkpoints.open(dir), backend);
    }

    /** Builds {@code className} from an open weight source (a single file, a shard index, …). */
    public static PreTrainedModel load(String className, PretrainedConfig config, WeightSource source, Backend backend) {
        Backend b = backend != null ? backend : Backends.create(null);
        ModelWeights weights = ModelWeights.of(source, source.path().toString(), b,
                ModelRegistry.BASE_PREFIX.getOrDefault(config.modelType(), ""));
        PreTrainedModel model = ModelRegistry.create(className, config, weights);
        weights.finish(className);
        return model;
    }
}
