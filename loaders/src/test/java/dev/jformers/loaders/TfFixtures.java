package dev.jformers.loaders;

import dev.jformers.core.DType;
import dev.jformers.core.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds the TensorFlow fixtures under src/test/resources/tf/ from the golden tiny models:
 * Hugging Face names are turned back into the original checkpoints' names (Google BERT,
 * OpenAI GPT-2) and written with {@link TensorBundleWriter}. Regenerate with
 * {@code ./mvnw -pl loaders test -Dtest=TfCheckpointTest -Djformers.regenerateFixtures=<dir of src/test/resources>}.
 */
final class TfFixtures {
    private TfFixtures() {
    }

    /** golden/bert/pretraining under Google's names, plus optimizer slots and global_step to be skipped. */
    static Map<String, Tensor> googleBert(WeightSource hf) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String n : hf.names()) {
            if (n.endsWith("position_ids") || n.startsWith("cls.predictions.decoder.")) {
                continue; // a buffer and tied weights: not in Google's checkpoints
            }
            Tensor t = hf.get(n);
            String tf;
            if (n.equals("cls.predictions.bias")) {
                tf = "cls/predictions/output_bias";
            } else if (n.startsWith("cls.seq_relationship.")) {
                tf = "cls/seq_relationship/" + (n.endsWith(".weight") ? "output_weights" : "output_bias");
            } else if (n.contains("_embeddings.")) {
                tf = n.substring(0, n.length() - ".weight".length()).replace('.', '/');
            } else if (n.contains("LayerNorm.")) {
                tf = n.replace(".weight", ".gamma").replace(".bias", ".beta").replace('.', '/');
            } else if (n.endsWith(".weight")) {
                tf = n.substring(0, n.length() - ".weight".length()).replace('.', '/') + "/kernel";
                t = Transform.transpose2d(t); // Dense kernels are [in, out]
            } else {
                tf = n.replace('.', '/');
            }
            tf = tf.replaceAll("layer/(\\d+)", "layer_$1");
            out.put(tf, t);
        }
        out.put("bert/encoder/layer_0/attention/self/query/kernel/adam_m", Tensor.zeros(DType.F32, 32, 32));
        out.put("bert/encoder/layer_0/attention/self/query/kernel/adam_v", Tensor.zeros(DType.F32, 32, 32));
        out.put("global_step", Tensor.ofLongs(new long[] {1000}));
        return out;
    }

    /** golden/gpt2/base under OpenAI's names ([1, in, out] conv weights; no attention-mask buffers). */
    static Map<String, Tensor> openAiGpt2(WeightSource hf) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String n : hf.names()) {
            if (n.endsWith("attn.bias") || n.endsWith("attn.masked_bias")) {
                continue;
            }
            Tensor t = hf.get(n);
            String tf = "model/" + n.replaceAll("^h\\.(\\d+)\\.", "h$1.");
            boolean ln = n.contains("ln_");
            if (n.equals("wte.weight") || n.equals("wpe.weight")) {
                tf = "model/" + n.substring(0, 3);
            } else if (n.endsWith(".weight")) {
                tf = tf.substring(0, tf.length() - ".weight".length()) + (ln ? ".g" : ".w");
                if (!ln) {
                    t = t.unsqueeze(0);
                }
            } else if (n.endsWith(".bias")) {
                tf = tf.substring(0, tf.length() - ".bias".length()) + ".b";
            }
            out.put(tf.replace('.', '/'), t);
        }
        return out;
    }

    static void generate(Path resources) throws IOException {
        try (WeightSource bert = SafetensorsFile.open(TestData.golden().resolve("bert/pretraining/model.safetensors"))) {
            Path dir = Files.createDirectories(resources.resolve("tf/bert-pretraining"));
            TensorBundleWriter.write(dir.resolve("model.ckpt"), googleBert(bert), 4096);
        }
        try (WeightSource gpt2 = SafetensorsFile.open(TestData.golden().resolve("gpt2/base/model.safetensors"))) {
            Path dir = Files.createDirectories(resources.resolve("tf/gpt2-base"));
            TensorBundleWriter.write(dir.resolve("model.ckpt"), openAiGpt2(gpt2), 4096);
        }
    }
}
