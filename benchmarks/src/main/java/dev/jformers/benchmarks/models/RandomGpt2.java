package dev.jformers.benchmarks.models;

import dev.jformers.core.Tensor;
import dev.jformers.loaders.SafetensorsWriter;
import dev.jformers.models.hub.MavenModels;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static dev.jformers.benchmarks.models.RandomWeights.gaussian;

/**
 * A GPT-2 124M-shaped checkpoint with random weights (no real GPT-2 weights can be had here): HF's
 * names and layouts (Conv1D weights [in, out], no prefix, lm_head tied to wte), written once as
 * model.safetensors + config.json under {@code <jformers cache>/benchmarks/gpt2-124m-random}
 * (or the folder the system property {@code jformers.bench.gpt2} names). Weights ~ N(0, 0.02) as
 * GPT-2's initializer, LayerNorm weights 1 ± 0.02 and biases ~ N(0, 0.02), fixed seed.
 */
public final class RandomGpt2 {
    private RandomGpt2() {
    }

    public static synchronized Path folder() {
        String override = System.getProperty("jformers.bench.gpt2");
        return RandomWeights.once(override != null ? Path.of(override)
                : MavenModels.cacheDir().resolve("benchmarks").resolve("gpt2-124m-random"), RandomGpt2::write);
    }

    private static void write(Path dir) throws IOException {
        int c = ModelShapes.GPT2_HIDDEN, v = ModelShapes.GPT2_VOCAB, p = ModelShapes.GPT2_POSITIONS;
        SplittableRandom r = new SplittableRandom(124);
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("wte.weight", gaussian(r, 0, v, c));
        t.put("wpe.weight", gaussian(r, 0, p, c));
        for (int l = 0; l < ModelShapes.GPT2_LAYERS; l++) {
            String h = "h." + l + ".";
            t.put(h + "ln_1.weight", gaussian(r, 1, c));
            t.put(h + "ln_1.bias", gaussian(r, 0, c));
            t.put(h + "attn.c_attn.weight", gaussian(r, 0, c, 3 * c));
            t.put(h + "attn.c_attn.bias", gaussian(r, 0, 3 * c));
            t.put(h + "attn.c_proj.weight", gaussian(r, 0, c, c));
            t.put(h + "attn.c_proj.bias", gaussian(r, 0, c));
            t.put(h + "ln_2.weight", gaussian(r, 1, c));
            t.put(h + "ln_2.bias", gaussian(r, 0, c));
            t.put(h + "mlp.c_fc.weight", gaussian(r, 0, c, 4 * c));
            t.put(h + "mlp.c_fc.bias", gaussian(r, 0, 4 * c));
            t.put(h + "mlp.c_proj.weight", gaussian(r, 0, 4 * c, c));
            t.put(h + "mlp.c_proj.bias", gaussian(r, 0, c));
        }
        t.put("ln_f.weight", gaussian(r, 1, c));
        t.put("ln_f.bias", gaussian(r, 0, c));
        SafetensorsWriter.write(t, Map.of("format", "pt", "note", "random weights of GPT-2 124M's shapes, for benchmarks"),
                dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("config.json"), """
                {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "bos_token_id": 50256,
                 "eos_token_id": 50256, "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_embd": %d, "n_head": %d,
                 "n_inner": null, "n_layer": %d, "n_positions": %d, "vocab_size": %d, "scale_attn_weights": true,
                 "tie_word_embeddings": true, "use_cache": true, "torch_dtype": "float32"}
                """.formatted(c, ModelShapes.GPT2_HEADS, ModelShapes.GPT2_LAYERS, p, v));
    }
}
