package dev.jformers.models.distilbert;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.core.Activation;
import dev.jformers.models.CommonConfig;
import dev.jformers.models.ConfigException;
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
                j.path("vocab_size").asInt(30522),
                j.path("dim").asInt(768),
                j.path("n_layers").asInt(6),
                j.path("n_heads").asInt(12),
                j.path("hidden_dim").asInt(3072),
                Activation.fromHuggingFace(j.path("activation").asText("gelu")),
                j.path("max_position_embeddings").asInt(512),
                j.path("sinusoidal_pos_embds").asBoolean(false));
        if (c.dim % c.nHeads != 0) {
            throw new ConfigException("config.json: dim " + c.dim + " is not a multiple of n_heads " + c.nHeads);
        }
        return c;
    }
}
