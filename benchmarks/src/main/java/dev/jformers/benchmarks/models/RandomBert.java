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
 * A {@code BertForSequenceClassification} checkpoint (2 labels) with random weights of an encoder's shapes
 * (all-MiniLM-L6-v2's or BERT-base's), for the training benchmarks: HF's names, weights ~ N(0, 0.02) as
 * BERT's initializer, LayerNorm weights 1 ± 0.02, fixed seed, dropout 0 (so that both engines compute the same
 * loss). Written once under {@code <jformers cache>/benchmarks/<name>-seqcls-random}.
 */
final class RandomBert {
    static final int VOCAB = 30522, POSITIONS = 512, LABELS = 2;

    private RandomBert() {
    }

    static synchronized Path folder(ModelShapes.Encoder e, int heads) {
        return RandomWeights.once(MavenModels.cacheDir().resolve("benchmarks").resolve(e.name() + "-seqcls-random"),
                dir -> write(dir, e, heads));
    }

    private static void write(Path dir, ModelShapes.Encoder e, int heads) throws IOException {
        int c = e.hidden(), inter = e.intermediate();
        SplittableRandom r = new SplittableRandom(e.layers() * 1000L + c);
        Map<String, Tensor> t = new LinkedHashMap<>();
        String b = "bert.";
        t.put(b + "embeddings.word_embeddings.weight", gaussian(r, 0, VOCAB, c));
        t.put(b + "embeddings.position_embeddings.weight", gaussian(r, 0, POSITIONS, c));
        t.put(b + "embeddings.token_type_embeddings.weight", gaussian(r, 0, 2, c));
        t.put(b + "embeddings.LayerNorm.weight", gaussian(r, 1, c));
        t.put(b + "embeddings.LayerNorm.bias", gaussian(r, 0, c));
        for (int l = 0; l < e.layers(); l++) {
            String p = b + "encoder.layer." + l + ".";
            for (String m : new String[] {"attention.self.query", "attention.self.key", "attention.self.value",
                    "attention.output.dense"}) {
                t.put(p + m + ".weight", gaussian(r, 0, c, c));
                t.put(p + m + ".bias", gaussian(r, 0, c));
            }
            t.put(p + "attention.output.LayerNorm.weight", gaussian(r, 1, c));
            t.put(p + "attention.output.LayerNorm.bias", gaussian(r, 0, c));
            t.put(p + "intermediate.dense.weight", gaussian(r, 0, inter, c));
            t.put(p + "intermediate.dense.bias", gaussian(r, 0, inter));
            t.put(p + "output.dense.weight", gaussian(r, 0, c, inter));
            t.put(p + "output.dense.bias", gaussian(r, 0, c));
            t.put(p + "output.LayerNorm.weight", gaussian(r, 1, c));
            t.put(p + "output.LayerNorm.bias", gaussian(r, 0, c));
        }
        t.put(b + "pooler.dense.weight", gaussian(r, 0, c, c));
        t.put(b + "pooler.dense.bias", gaussian(r, 0, c));
        t.put("classifier.weight", gaussian(r, 0, LABELS, c));
        t.put("classifier.bias", gaussian(r, 0, LABELS));
        SafetensorsWriter.write(t, Map.of("format", "pt", "note", "random weights of " + e.name() + "'s shapes, for benchmarks"),
                dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["BertForSequenceClassification"], "attention_probs_dropout_prob": 0.0, "hidden_act": "gelu",
                 "hidden_dropout_prob": 0.0, "hidden_size": %d, "initializer_range": 0.02, "intermediate_size": %d,
                 "layer_norm_eps": 1e-12, "max_position_embeddings": %d, "model_type": "bert", "num_attention_heads": %d,
                 "num_hidden_layers": %d, "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2,
                 "vocab_size": %d, "num_labels": %d}
                """.formatted(c, inter, POSITIONS, heads, e.layers(), VOCAB, LABELS));
    }
}
