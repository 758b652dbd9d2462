package dev.jformers.models.bert;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.core.Activation;
import dev.jformers.models.CommonConfig;
import dev.jformers.models.ConfigException;
import dev.jformers.models.ModelWeights;
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
                CommonConfig.size(j, "vocab_size", roberta ? 50265 : 30522, 1, MAX_VOCAB),
                CommonConfig.size(j, "hidden_size", 768, 1, MAX_WIDTH),
                CommonConfig.size(j, "num_hidden_layers", 12, 1, MAX_LAYERS),
                CommonConfig.size(j, "num_attention_heads", 12, 1, MAX_WIDTH),
                CommonConfig.size(j, "intermediate_size", 3072, 1, MAX_INNER),
                Activation.fromHuggingFace(j.path("hidden_act").asText("gelu")),
                CommonConfig.size(j, "max_position_embeddings", 512, 1, MAX_POSITIONS),
                CommonConfig.size(j, "type_vocab_size", 2, 1, MAX_WIDTH),
                j.path("layer_norm_eps").asDouble(1e-12));
        PretrainedConfig.checkHeads("hidden_size", c.hiddenSize, "num_attention_heads", c.numAttentionHeads);
        return c;
    }

    @Override
    public void checkWeights(ModelWeights w) {
        ModelWeights emb = w.child("embeddings");
        emb.expect("word_embeddings.weight", vocabSize, hiddenSize);
        emb.expect("position_embeddings.weight", maxPositionEmbeddings, hiddenSize);
        emb.expect("token_type_embeddings.weight", typeVocabSize, hiddenSize);
        w.expectLayers("encoder.layer", numHiddenLayers, "num_hidden_layers");
        w.child("encoder").child("layer", 0).expect("intermediate.dense.weight", intermediateSize, hiddenSize);
    }
}
