package dev.jformers.models.distilbert;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.core.Activation;
import dev.jformers.models.CommonConfig;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.PretrainedConfig;

/** DistilBERT's config.json ({@code DistilBertConfig}) with HF's defaults. */
public record DistilBertConfig(CommonConfig common, int vocabSize, int dim, int nLayers, int nHeads, int hiddenDim,
                               Activation activation, int maxPositionEmbeddings, boolean sinusoidalPosEmbds)
        implements PretrainedConfig {

    public int headSize() {
        return dim / nHeads;
    }

    public static DistilBertConfig parse(JsonNode j) {
        DistilBertConfig c = new DistilBertConfig(CommonConfig.parse(j, 0, null, null),
                CommonConfig.size(j, "vocab_size", 30522, 1, MAX_VOCAB),
                CommonConfig.size(j, "dim", 768, 1, MAX_WIDTH),
                CommonConfig.size(j, "n_layers", 6, 1, MAX_LAYERS),
                CommonConfig.size(j, "n_heads", 12, 1, MAX_WIDTH),
                CommonConfig.size(j, "hidden_dim", 3072, 1, MAX_INNER),
                Activation.fromHuggingFace(j.path("activation").asText("gelu")),
                CommonConfig.size(j, "max_position_embeddings", 512, 1, MAX_POSITIONS),
                j.path("sinusoidal_pos_embds").asBoolean(false));
        PretrainedConfig.checkHeads("dim", c.dim, "n_heads", c.nHeads);
        return c;
    }

    @Override
    public void checkWeights(ModelWeights w) {
        ModelWeights emb = w.child("embeddings");
        emb.expect("word_embeddings.weight", vocabSize, dim);
        emb.expect("position_embeddings.weight", maxPositionEmbeddings, dim);
        w.expectLayers("transformer.layer", nLayers, "n_layers");
        w.child("transformer").child("layer", 0).expect("ffn.lin1.weight", hiddenDim, dim);
    }
}
