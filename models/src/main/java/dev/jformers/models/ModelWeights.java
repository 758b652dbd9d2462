package dev.jformers.models;

import dev.jformers.core.Backend;
import dev.jformers.core.DType;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;
import dev.jformers.loaders.WeightSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * A checkpoint seen through a name prefix, the way a module tree sees it: the embeddings of a
 * BERT read {@code weights.child("embeddings").tensor("LayerNorm.weight")}. Accepts checkpoints
 * saved with or without the base-model prefix ("bert.", "roberta.", "transformer." …), records
 * which tensors were read, and collects every missing one so that {@link #finish} can name them
 * all in one error, as Hugging Face does.
 */
public final class ModelWeights {
    private final Shared shared;
    private final String prefix;

    private static final class Shared {
        final WeightSource source;
        final String sourceName;
        final Backend backend;
        final String basePrefix;
        final Set<String> used = ConcurrentHashMap.newKeySet();
        final List<String> missing = Collections.synchronizedList(new ArrayList<>());
        final List<String> initialized = Collections.synchronizedList(new ArrayList<>());
        final Set<Tensor> initializedTensors = Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        volatile WeightInitializer initializer;
        long placeholderBytes;

        Shared(WeightSource source, String sourceName, Backend backend, String basePrefix) {
            this.source = source;
            this.sourceName = sourceName;
            this.backend = backend;
            this.basePrefix = basePrefix;
        }
    }

    private ModelWeights(Shared shared, String prefix) {
        this.shared = shared;
        this.prefix = prefix;
    }

    /**
     * @param basePrefix the base model's name in head models ("bert", "roberta", "distilbert",
     *                   "transformer"): names are looked up with and without it
     */
    public static ModelWeights of(WeightSource source, String sourceName, Backend backend, String basePrefix) {
        return new ModelWeights(new Shared(source, sourceName, backend, basePrefix), "");
    }

    public Backend backend() {
        return shared.backend;
    }

    /** The view of a sub-module: names below get {@code name + "."} in front. */
    public ModelWeights child(String name) {
        return new ModelWeights(shared, prefix + name + ".");
    }

    /** The view of a numbered sub-module such as {@code layer.3}. */
    public ModelWeights child(String name, int index) {
        return child(name + "." + index);
    }

    /** True when the checkpoint holds {@code name} (under this prefix). */
    public boolean has(String name) {
        return resolve(prefix + name) != null;
    }

    /**
     * The tensor {@code name}, checked against {@code shape}, on the host in its file's dtype.
     * A missing tensor is recorded and a zero placeholder returned, so loading goes on to find
     * every missing name before {@link #finish} fails.
     */
    public Tensor tensor(String name, int... shape) {
        String full = prefix + name;
        String key = resolve(full);
        if (key == null && shared.initializer != null) {
            // HF's from_pretrained: a weight the checkpoint lacks (a new head) is newly initialized
            Tensor t = shared.initializer.create(full, shape);
            shared.initialized.add(full);
            shared.initializedTensors.add(t);
            if (shared.backend instanceof ParameterRegistry registry) {
                registry.name(t, full);
            }
            return t;
        }
        if (key == null) {
            shared.missing.add(full);
            // Placeholders let loading name every missing weight, but a config may ask for sizes no
            // checkpoint holds: past a small budget the names found so far are reported at once.
            long bytes = 4;
            for (int d : shape) {
                bytes = d < 0 || bytes > PLACEHOLDER_BUDGET ? Long.MAX_VALUE : bytes * d;
            }
            synchronized (shared) {
                shared.placeholderBytes = bytes > PLACEHOLDER_BUDGET ? bytes : shared.placeholderBytes + bytes;
                if (shared.placeholderBytes > PLACEHOLDER_BUDGET) {
                    throw new MissingWeightsException("model", shared.sourceName, List.copyOf(shared.missing));
                }
            }
            return Tensor.zeros(DType.F32, shape);
        }
        shared.used.add(key);
        Tensor t = shared.source.get(key);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new ShapeException(shared.sourceName + ": weight '" + key + "' has shape " + Arrays.toString(t.shape())
                    + ", the config expects " + Arrays.toString(shape));
        }
        if (shared.backend instanceof ParameterRegistry registry) {
            registry.name(t, full);   // a training backend learns the module path (HF's parameter name)
        }
        return t;
    }

    /**
     * The checkpoint key that {@code name} (under this prefix) resolves to, or null: the name a parameter
     * is saved under.
     */
    public String key(String name) {
        return resolve(prefix + name);
    }

    /** Tells a training backend that row {@code index} of an uploaded embedding table gets no gradient. */
    public void paddingIdx(Tensor uploadedTable, int index) {
        if (shared.backend instanceof ParameterRegistry registry) {
            registry.paddingIdx(uploadedTable, index);
        }
    }

    /**
     * From now on a weight the checkpoint lacks is created by {@code initializer} instead of being an error
     * (Hugging Face's "newly initialized" weights: a task head on a base model, or training from scratch).
     */
    public ModelWeights initializeMissing(WeightInitializer initializer) {
        shared.initializer = initializer;
        return this;
    }

    /** True when {@code t} was made by the initializer rather than read from the checkpoint. */
    public boolean wasInitialized(Tensor t) {
        return shared.initializedTensors.contains(t);
    }

    /** Tells a training backend that rows [start, start + rows) of a fused weight are the parameter {@code name}. */
    public void nameRows(Tensor fused, int start, int rows, String name) {
        boolean known = resolve(prefix + name) != null || shared.initialized.contains(prefix + name);
        if (known && shared.backend instanceof ParameterRegistry registry) {
            registry.nameRows(fused, start, rows, prefix + name);
        }
    }

    /** Zero placeholders for missing weights stop here (they are only there to find more missing names). */
    private static final long PLACEHOLDER_BUDGET = 32L << 20;

    /**
     * Checks, before anything is built, that the tensor {@code name} has {@code shape} when the
     * checkpoint holds it (from its header: no data is read). Longs, so that a config's sizes
     * cannot overflow on the way.
     */
    public void expect(String name, long... shape) {
        String key = resolve(prefix + name);
        if (key == null) {
            return;
        }
        int[] actual = shared.source.info(key).shape();
        boolean same = actual.length == shape.length;
        for (int i = 0; same && i < shape.length; i++) {
            same = actual[i] == shape[i];
        }
        if (!same) {
            throw new ShapeException(shared.sourceName + ": weight '" + key + "' has shape " + Arrays.toString(actual)
                    + ", the config expects " + Arrays.toString(shape));
        }
    }

    /**
     * Checks, before anything is built, that the checkpoint holds layers {@code 0 … count-1} under
     * {@code name} (e.g. "encoder.layer"): a config claiming a million layers is refused here
     * instead of allocating a million layers of placeholders. (More layers in the checkpoint are
     * left unused, as Hugging Face does.)
     */
    public void expectLayers(String name, int count, String configField) {
        String base = shared.basePrefix.isEmpty() ? null : shared.basePrefix + ".";
        String want = withoutBase(prefix + name + ".", base);
        int highest = -1;
        for (String n : shared.source.names()) {
            String local = withoutBase(n, base);
            if (!local.startsWith(want)) {
                continue;
            }
            int end = local.indexOf('.', want.length());
            try {
                highest = Math.max(highest, Integer.parseInt(local.substring(want.length(), end < 0 ? local.length() : end)));
            } catch (NumberFormatException e) {
                // not a numbered layer
            }
        }
        if (highest >= 0 && highest + 1 < count) {
            throw new ConfigException("config.json: " + configField + " is " + count + " but " + shared.sourceName
                    + " holds " + (highest + 1) + " layers (" + name + ".0 … " + name + "." + highest + ")");
        }
        if (highest < 0 && count > 0) {
            throw new MissingWeightsException("model", shared.sourceName, List.of(want + "0 … " + want + (count - 1)));
        }
    }

    private static String withoutBase(String name, String base) {
        return base != null && name.startsWith(base) ? name.substring(base.length()) : name;
    }

    /** Like {@link #tensor} but returns null without complaint when absent. */
    public Tensor optionalTensor(String name, int... shape) {
        return has(name) ? tensor(name, shape) : null;
    }

    /** {@link #tensor} uploaded to the backend as float32. */
    public Tensor upload(String name, int... shape) {
        return shared.backend.upload(tensor(name, shape));
    }

    /** Tells a training backend that {@code t} (a modified copy of a weight) is the parameter {@code name}. */
    public void nameAs(Tensor t, String name) {
        if (shared.backend instanceof ParameterRegistry registry) {
            registry.name(t, prefix + name);
        }
    }

    /** Marks a name as consumed without reading it (tied copies, buffers). */
    public void ignore(String name) {
        String key = resolve(prefix + name);
        if (key != null) {
            shared.used.add(key);
        }
    }

    private String resolve(String full) {
        Set<String> names = shared.source.names();
        if (names.contains(full)) {
            return full;
        }
        String base = shared.basePrefix + ".";
        if (!shared.basePrefix.isEmpty()) {
            if (full.startsWith(base) && names.contains(full.substring(base.length()))) {
                return full.substring(base.length());
            }
            if (!full.startsWith(base) && names.contains(base + full)) {
                return base + full;
            }
        }
        return null;
    }

    /** Buffers and tied copies that checkpoints carry but models never read. */
    private static final Pattern NOT_WEIGHTS = Pattern.compile(
            ".*(position_ids|attn\\.bias|attn\\.masked_bias|\\.decoder\\.weight|\\.decoder\\.bias|^lm_head\\.weight"
                    + "|vocab_projector\\.weight)$");

    /** Weights of a pooler or of a task head, which a model for another task leaves unused, as HF expects. */
    private static final Pattern OTHER_HEADS = Pattern.compile(
            "^(\\w+\\.)?(pooler|cls|classifier|pre_classifier|qa_outputs|lm_head|score|vocab_transform|vocab_layer_norm"
                    + "|vocab_projector)\\..*");

    /**
     * Ends loading: throws {@link MissingWeightsException} naming every missing weight, and
     * returns the checkpoint's tensors no module used (HF prints these as a warning).
     */
    public List<String> finish(String modelName) {
        if (!shared.missing.isEmpty()) {
            throw new MissingWeightsException(modelName, shared.sourceName, List.copyOf(shared.missing));
        }
        if (!shared.initialized.isEmpty() && !shared.source.names().isEmpty()) {
            System.getLogger("dev.jformers.models").log(System.Logger.Level.WARNING, "Some weights of "
                    + modelName + " were not initialized from the model checkpoint at " + shared.sourceName
                    + " and are newly initialized: " + shared.initialized + "\nYou should probably TRAIN this model"
                    + " on a down-stream task to be able to use it for predictions and inference.");
        }
        Set<String> unused = new TreeSet<>(shared.source.names());
        unused.removeAll(shared.used);
        unused.removeIf(n -> NOT_WEIGHTS.matcher(n).matches());
        if (!unused.isEmpty()) {
            // HF warns about every unused weight and adds "This IS expected if ... another task". Here the expected
            // case, the pooler or another head's weights (a pre-training checkpoint loaded for masked LM), stays quiet.
            boolean surprising = unused.stream().anyMatch(n -> !OTHER_HEADS.matcher(n).matches());
            System.getLogger("dev.jformers.models").log(surprising ? System.Logger.Level.WARNING : System.Logger.Level.DEBUG,
                    "Some weights of " + shared.sourceName + " were not used by " + modelName + ": " + unused);
        }
        return List.copyOf(unused);
    }
}
