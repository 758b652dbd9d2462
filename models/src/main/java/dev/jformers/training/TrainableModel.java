package dev.jformers.training;

import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;
import dev.jformers.loaders.Checkpoints;
import dev.jformers.loaders.SafetensorsWriter;
import dev.jformers.loaders.WeightSource;
import dev.jformers.models.AutoModels;
import dev.jformers.models.Labels;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.Task;
import dev.jformers.models.PretrainedConfig;
import dev.jformers.models.WeightInitializer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A model loaded for training: the ordinary model class built on an {@link Autograd}, its parameters under
 * Hugging Face's names, and {@code save_pretrained}. After training, {@link #model()} serves inference on the
 * new weights as it is (call {@link Autograd#eval()} first, or use {@link #eval()}).
 *
 * <pre>
 *   TrainableModel m = TrainableModel.load(dir, null);
 *   Optimizer adamw = new AdamW(m.parameterGroups(0.01), 0.9, 0.999, 1e-8);
 *   ModelOutput out = m.forward(batch, labels);      // training mode: recorded
 *   m.backward(out.get("loss"));
 *   GradientClipping.clipGradNorm(m.trainableParameters(), 1.0);
 *   m.step(adamw, lr);                                // update, re-pack, zero the gradients
 * </pre>
 */
public final class TrainableModel implements AutoCloseable {
    private final PreTrainedModel model;
    private final Autograd autograd;
    private final WeightSource source;
    private final ObjectNode config;          // what savePretrained writes as config.json (editable: id2label …)
    private final Path generationConfig;     // copied beside the weights when the source folder has one

    private TrainableModel(PreTrainedModel model, Autograd autograd, WeightSource source, ObjectNode config,
                           Path generationConfig) {
        this.model = model;
        this.autograd = autograd;
        this.source = source;
        this.config = config;
        this.config.putArray("architectures").add(model.modelClass());
        this.generationConfig = generationConfig;
    }

    /** The class named in config.json's {@code architectures}, on {@code backend} (null: the default one). */
    public static TrainableModel load(Path dir, Backend backend) {
        PretrainedConfig config = PretrainedConfig.fromPretrained(dir);
        return build(AutoModels.architectureClass(config), config, dir, backend, null);
    }

    /**
     * The Auto class of {@code task} from a checkpoint, as HF's from_pretrained: weights the checkpoint lacks
     * (a new head on a base model) are newly initialized from {@code seed}, with HF's warning.
     */
    public static TrainableModel load(Task task, Path dir, Backend backend, long seed) {
        PretrainedConfig config = PretrainedConfig.fromPretrained(dir);
        return build(AutoModels.className(task, config), config, dir, backend, WeightInitializer.of(config, seed));
    }

    /**
     * As {@link #load(Task, Path, Backend, long)} with {@code config} in place of the folder's config.json: a
     * fine-tuning task's own labels (id2label, label2id, problem_type) on the checkpoint's weights.
     */
    public static TrainableModel load(Task task, Path dir, ObjectNode config, Backend backend, long seed) {
        PretrainedConfig parsed = PretrainedConfig.parse(config, dir.resolve("config.json") + " (edited)");
        return build(AutoModels.className(task, parsed), parsed, dir, backend, WeightInitializer.of(parsed, seed));
    }

    /** {@link #load(Task, Path, Backend, long)} with the Trainer's default seed, 42. */
    public static TrainableModel load(Task task, Path dir, Backend backend) {
        return load(task, dir, backend, 42);
    }

    /**
     * A new model from a config.json alone (HF's {@code AutoModelFor….from_config}): every weight initialized
     * as HF's {@code _init_weights} does, from {@code seed}. {@code task} null: the config's architectures.
     */
    public static TrainableModel fromConfig(Path configFile, Task task, Backend backend, long seed) {
        PretrainedConfig config = PretrainedConfig.fromPretrained(configFile);
        String className = task == null ? AutoModels.architectureClass(config) : AutoModels.className(task, config);
        Autograd autograd = new Autograd(backend != null ? backend : Backends.create(null));
        WeightSource none = new NoWeights(configFile);
        PreTrainedModel model = AutoModels.load(className, config, none, autograd, WeightInitializer.of(config, seed));
        return new TrainableModel(model, autograd, none, config.common().json().deepCopy(), null);
    }

    private static TrainableModel build(String className, PretrainedConfig config, Path dir, Backend backend,
                                        WeightInitializer initializer) {
        Autograd autograd = new Autograd(backend != null ? backend : Backends.create(null));
        WeightSource source = Checkpoints.open(dir);
        PreTrainedModel model = AutoModels.load(className, config, source, autograd, initializer);
        Path generation = dir.resolve("generation_config.json");
        return new TrainableModel(model, autograd, source, config.common().json().deepCopy(),
                Files.isRegularFile(generation) ? generation : null);
    }

    /** The config.json that {@link #savePretrained} writes; edit it to record label names, problem_type … */
    public ObjectNode config() {
        return config;
    }

    public PreTrainedModel model() {
        return model;
    }

    public Autograd autograd() {
        return autograd;
    }

    /** A training forward pass (recorded for {@link #backward}); with labels the output holds {@code loss}. */
    public ModelOutput forward(ModelInput input, Labels labels) {
        autograd.train();
        ModelOutput out = model.forward(input, labels);
        autograd.keepAfterBackward(out.asMap().values());   // the other activations are reused after backward
        return out;
    }

    /** Gradients of {@code loss} into every trainable parameter; a non-finite loss stops with its value. */
    public void backward(Tensor loss) {
        float value = loss.toFloatArray()[0];
        if (!Float.isFinite(value)) {
            autograd.eval();
            throw new JformersException("the loss is " + value + ": training stopped (check the labels and the learning rate)");
        }
        autograd.backward(loss);
    }

    /**
     * One optimizer update at {@code lr}, then the gradients are cleared and the linear layers re-packed.
     * Refuses a non-finite gradient, naming the first parameter that has one, before anything is changed.
     */
    public void step(Optimizer optimizer, double lr) {
        for (Parameter p : trainableParameters()) {
            float[] g = p.grad();
            if (g != null) {
                for (int i = p.offset(), end = p.offset() + p.size(); i < end; i++) {
                    if (!Float.isFinite(g[i])) {
                        throw new JformersException("the gradient of " + p.name() + " is not finite (" + g[i]
                                + "): training stopped before the update");
                    }
                }
            }
        }
        optimizer.step(lr);
        autograd.weightsChanged();
        autograd.zeroGrad();
    }

    /** Evaluation mode: nothing recorded, the model is an inference model on the current weights. */
    public PreTrainedModel eval() {
        autograd.eval();
        return model;
    }

    /** Every parameter, in the order the model read them. */
    public List<Parameter> parameters() {
        return List.copyOf(autograd.parameters().values());
    }

    /**
     * Hugging Face's {@code num_parameters(exclude_embeddings=True)}: every parameter (frozen ones too), a tied weight
     * once, less the embedding tables (BERT/RoBERTa/DistilBERT's word, position and token-type embeddings, GPT-2's
     * wte and wpe: the weights of the model's nn.Embedding modules).
     */
    public long nonEmbeddingParameters() {
        long n = 0;
        for (Parameter p : parameters()) {
            String name = p.name();
            boolean embedding = name.endsWith("_embeddings.weight") || name.endsWith("wte.weight") || name.endsWith("wpe.weight");
            n += embedding ? 0 : p.size();
        }
        return n;
    }

    /**
     * Hugging Face's {@code floating_point_ops}: 6 × the batch's tokens (input_ids elements, padding included) ×
     * {@link #nonEmbeddingParameters()}, the forward and backward passes' cost as Kaplan et al. (2020) estimate it.
     */
    public double floatingPointOps(ModelInput input) {
        return 6.0 * input.inputIds().numel() * nonEmbeddingParameters();
    }

    public List<Parameter> trainableParameters() {
        return parameters().stream().filter(Parameter::requiresGrad).toList();
    }

    /** Freezes every parameter whose name starts with {@code prefix} (e.g. "bert." under a trained head). */
    public int freeze(String prefix) {
        int n = 0;
        for (Parameter p : parameters()) {
            if (p.name().startsWith(prefix)) {
                p.requiresGrad(false);
                n++;
            }
        }
        return n;
    }

    /** Hugging Face Trainer's groups: weight decay for every trainable weight except biases and LayerNorm parameters. */
    public List<AdamW.Group> parameterGroups(double weightDecay) {
        List<Parameter> decay = new ArrayList<>(), noDecay = new ArrayList<>();
        for (Parameter p : trainableParameters()) {
            (WeightInitializer.isLayerNorm(p.name()) || p.name().contains("bias") ? noDecay : decay).add(p);
        }
        return List.of(new AdamW.Group(decay, weightDecay), new AdamW.Group(noDecay, 0.0));
    }

    /**
     * The transformers version whose save_pretrained output these files follow (the golden data's); written as
     * config.json's transformers_version when the starting config has none.
     */
    static final String TRANSFORMERS_VERSION = "4.28.1";

    /** Buffers that checkpoints carry beside the parameters and save_pretrained writes back unchanged. */
    private static final Pattern BUFFERS = Pattern.compile(".*(position_ids|attn\\.bias|attn\\.masked_bias)$");

    /**
     * Writes {@code model.safetensors} as {@code save_pretrained} does: every parameter under its name, the
     * checkpoint's buffers (position_ids, GPT-2's attn.bias) unchanged, tied weights once; and {@link #config()}
     * as config.json (plus generation_config.json when the source has one). The weights go to a temporary
     * file first, then are moved.
     */
    public void savePretrained(Path dir) {
        try {
            Files.createDirectories(dir);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, Parameter> params = autograd.parameters();
            String base = AutoModels.basePrefix(model.config().modelType()) + ".";
            boolean headClass = params.keySet().stream().anyMatch(n -> n.startsWith(base));
            for (String key : source.names()) {
                // the checkpoint may name the base model with or without its prefix; HF saves the class's names
                String name = headClass && !key.startsWith(base) ? base + key
                        : !headClass && key.startsWith(base) ? key.substring(base.length()) : key;
                if (params.containsKey(name)) {
                    tensors.put(name, params.get(name).value());
                } else if (params.containsKey(key)) {
                    tensors.put(key, params.get(key).value());
                } else if (BUFFERS.matcher(key).matches()) {
                    tensors.put(name, source.get(key));
                }
            }
            params.forEach((name, p) -> tensors.putIfAbsent(name, p.value()));
            addBuffers(tensors, headClass ? base : "");
            Path tmp = dir.resolve("model.safetensors.tmp");
            SafetensorsWriter.write(SafetensorsWriter.inHuggingFaceOrder(tensors), Map.of("format", "pt"), tmp);
            Files.move(tmp, dir.resolve("model.safetensors"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
            ObjectNode saved = config.deepCopy();
            saved.put("torch_dtype", "float32");                        // the parameters are float32
            if (!saved.hasNonNull("transformers_version")) {
                saved.put("transformers_version", TRANSFORMERS_VERSION);
            }
            Files.writeString(dir.resolve("config.json"), sortedKeys(saved).toPrettyString() + "\n");
            if (generationConfig != null && !generationConfig.equals(dir.resolve("generation_config.json"))) {
                Files.copy(generationConfig, dir.resolve("generation_config.json"), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not save the model to " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The persistent buffers transformers 4.28's save_pretrained writes beside the parameters, for a model whose
     * source had none (from_config): BERT's and RoBERTa's {@code embeddings.position_ids} (int64 0..P-1), GPT-2's
     * causal mask {@code attn.bias} (bool, lower triangle) and {@code attn.masked_bias} (-1e4). Newer transformers
     * no longer save them and ignore them on load.
     */
    private void addBuffers(Map<String, Tensor> tensors, String prefix) {
        JsonNode c = model.config().common().json();
        switch (model.config().modelType()) {
            case "bert", "roberta" -> {
                String name = prefix + "embeddings.position_ids";
                if (tensors.containsKey(prefix + "embeddings.word_embeddings.weight") && !tensors.containsKey(name)) {
                    int positions = c.path("max_position_embeddings").asInt();
                    long[] ids = new long[positions];
                    java.util.Arrays.setAll(ids, i -> i);
                    tensors.put(name, Tensor.ofLongs(ids, 1, positions));
                }
            }
            case "gpt2" -> {
                int positions = c.path("n_positions").asInt();
                for (int layer = 0; tensors.containsKey(prefix + "h." + layer + ".ln_1.weight"); layer++) {
                    String attn = prefix + "h." + layer + ".attn.";
                    if (!tensors.containsKey(attn + "bias")) {
                        byte[] lower = new byte[positions * positions];
                        for (int i = 0; i < positions; i++) {
                            java.util.Arrays.fill(lower, i * positions, i * positions + i + 1, (byte) 1);
                        }
                        tensors.put(attn + "bias", Tensor.wrap(java.lang.foreign.MemorySegment.ofArray(lower),
                                dev.jformers.core.DType.BOOL, 1, 1, positions, positions));
                    }
                    tensors.putIfAbsent(attn + "masked_bias", Tensor.of(new float[] {-1e4f}));
                }
            }
            default -> {
                // DistilBERT keeps no persistent buffer
            }
        }
    }

    /** A copy with every object's keys in sorted order, as save_pretrained writes config.json (sort_keys=True). */
    static ObjectNode sortedKeys(ObjectNode node) {
        ObjectNode out = node.objectNode();
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        names.sort(null);
        for (String n : names) {
            out.set(n, node.get(n) instanceof ObjectNode o ? sortedKeys(o) : node.get(n));
        }
        return out;
    }

    @Override
    public void close() {
        try {
            source.close();
        } catch (Exception e) {
            throw new JformersException("closing " + source.path() + ": " + e.getMessage());
        }
    }
}
