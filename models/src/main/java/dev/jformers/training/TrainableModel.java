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

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
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
    private final Path sourceDir;
    private final WeightSource source;

    private TrainableModel(PreTrainedModel model, Autograd autograd, Path sourceDir, WeightSource source) {
        this.model = model;
        this.autograd = autograd;
        this.sourceDir = sourceDir;
        this.source = source;
    }

    /** The class named in config.json's {@code architectures}, on {@code backend} (null: the default one). */
    public static TrainableModel load(Path dir, Backend backend) {
        Autograd autograd = new Autograd(backend != null ? backend : Backends.create(null));
        return new TrainableModel(AutoModels.loadArchitecture(dir, autograd), autograd, dir, Checkpoints.open(dir));
    }

    /** The Auto class of {@code task} (a head on a base checkpoint), on {@code backend} (null: the default one). */
    public static TrainableModel load(Task task, Path dir, Backend backend) {
        Autograd autograd = new Autograd(backend != null ? backend : Backends.create(null));
        return new TrainableModel(AutoModels.load(task, dir, autograd), autograd, dir, Checkpoints.open(dir));
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
        return model.forward(input, labels);
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

    /** Names of LayerNorm parameters in the four architectures (BERT's LayerNorm, DistilBERT's *_layer_norm, GPT-2's ln_*). */
    private static final Pattern LAYER_NORM = Pattern.compile("(^|.*\\.)(layernorm|[a-z_]*layer_norm|ln_[0-9a-z]+)\\.(weight|bias)$");

    /** Hugging Face Trainer's groups: weight decay for every trainable weight except biases and LayerNorm parameters. */
    public List<AdamW.Group> parameterGroups(double weightDecay) {
        List<Parameter> decay = new ArrayList<>(), noDecay = new ArrayList<>();
        for (Parameter p : trainableParameters()) {
            boolean layerNorm = LAYER_NORM.matcher(p.name().toLowerCase(Locale.ROOT)).matches();
            (layerNorm || p.name().contains("bias") ? noDecay : decay).add(p);
        }
        return List.of(new AdamW.Group(decay, weightDecay), new AdamW.Group(noDecay, 0.0));
    }

    /** Copies of checkpoint keys that save_pretrained leaves out when they are tied to another weight. */
    private static final Pattern TIED_ALIASES = Pattern.compile(
            "^lm_head\\.weight$|.*\\.decoder\\.weight$|.*\\.decoder\\.bias$|.*vocab_projector\\.weight$");

    /**
     * Writes {@code model.safetensors} as {@code save_pretrained} does: every parameter under its name, the
     * checkpoint's buffers (position_ids, GPT-2's attn.bias) unchanged, tied weights once; and config.json
     * (plus generation_config.json when the source has one). Written to a temporary file, then moved.
     */
    public void savePretrained(Path dir) {
        try {
            Files.createDirectories(dir);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, Parameter> params = autograd.parameters();
            for (String name : source.names()) {
                if (params.containsKey(name)) {
                    tensors.put(name, params.get(name).value());
                } else if (!TIED_ALIASES.matcher(name).matches()) {
                    tensors.put(name, source.get(name));
                }
            }
            params.forEach((name, p) -> tensors.putIfAbsent(name, p.value()));
            Path tmp = dir.resolve("model.safetensors.tmp");
            SafetensorsWriter.write(tensors, Map.of("format", "pt"), tmp);
            Files.move(tmp, dir.resolve("model.safetensors"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
            for (String file : List.of("config.json", "generation_config.json")) {
                Path from = sourceDir.resolve(file);
                if (Files.isRegularFile(from) && !Files.isSameFile(sourceDir, dir)) {
                    Files.copy(from, dir.resolve(file), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not save the model to " + dir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            source.close();
        } catch (Exception e) {
            throw new JformersException("closing " + sourceDir + ": " + e.getMessage());
        }
    }
}
