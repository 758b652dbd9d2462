package dev.jformers.models.bert;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.core.Activation;
import dev.jformers.models.CommonConfig;
import dev.jformers.models.ConfigException;
import dev.jformers.models.PretrainedConfig;

/**
 * BERT's and RoBERTa's config.json ({@code BertConfig}, {@code RobertaConfig}) with HF's defaults.
 * RoBERTa differs only in defaults (pad 1, bos 0, eos 2, vocab 50265) and in its embeddings.
 */
public record BertConfig(CommonConfig common, int vocabSize, int hiddenSize, int numHiddenLayers,
                         int numAttentionHeads, int intermediateSize, Activation hiddenAct,
                         int maxPositionEmbeddings, int typeVocabSize, double layerNormEps)
        implements PretrainedConfig {

    public boolean isRoberta() {
        return "roberta".equals(common.modelType());
    }

    public int headSize() {
        return hiddenSize / numAttentionHeads;
    }

    public static BertConfig parse(JsonNode j) {
        boolean roberta = "roberta".equals(j.path("model_type").asText());
        CommonConfig common = roberta ? CommonConfig.parse(j, 1, 0, 2) : CommonConfig.parse(j, 0, null, null);
        String positions = j.path("position_embedding_type").asText("absolute");
        if (!positions.equals("absolute")) {
            throw new ConfigException("config.json: position_embedding_type '" + positions
                    + "' is not supported (only 'absolute')");
        }
        if (j.path("add_cross_attention").asBoolean(false)) {
            throw new ConfigException("config.json: add_cross_attention (encoder-decoder BERT) is not supported");
        }
        BertConfig c = new BertConfig(common,
                j.path("vocab_size").asInt(roberta ? 50265 : 30522),
                j.path("hidden_size").asInt(768),
                j.path("num_hidden_layers").asInt(12),
                j.path("num_attention_heads").asInt(12),
                j.path("intermediate_size").asInt(3072),
                Activation.fromHuggingFace(j.path("hidden_act").asText("gelu")),
                j.path("max_position_embeddings").asInt(512),
                j.path("type_vocab_size").asInt(2),
                j.path("layer_norm_eps").asDouble(1e-12));
        if (c.hiddenSize % c.numAttentionHeads != 0) {
            throw new ConfigException("config.json: hidden_size " + c.hiddenSize + " is not a multiple of num_attention_heads "
                    + c.numAttentionHeads);
        }
        return c;
    }
}
