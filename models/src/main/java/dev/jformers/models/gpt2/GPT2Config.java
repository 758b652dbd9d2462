package dev.jformers.models.gpt2;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.core.Activation;
import dev.jformers.models.CommonConfig;
import dev.jformers.models.ConfigException;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.PretrainedConfig;

/**
 * GPT-2's config.json ({@code GPT2Config}) with HF's defaults. Every flag that changes the math
 * is honoured here or refused with an error; none is silently ignored.
 *
 * @param scaleAttnWeights          divide scores by √d (HF default true)
 * @param scaleAttnByInverseLayerIdx also divide layer i's scores by i+1
 * @param reorderAndUpcastAttn      computes q·k in float32 in a different order: the same math here,
 *                                  where everything already is float32
 */
public record GPT2Config(CommonConfig common, int vocabSize, int nPositions, int nEmbd, int nLayer, int nHead,
                         int nInner, Activation activation, double layerNormEpsilon, boolean scaleAttnWeights,
                         boolean scaleAttnByInverseLayerIdx, boolean reorderAndUpcastAttn)
        implements PretrainedConfig {

    public int headSize() {
        return nEmbd / nHead;
    }

    public static GPT2Config parse(JsonNode j) {
        if (j.path("add_cross_attention").asBoolean(false)) {
            throw new ConfigException("config.json: add_cross_attention (GPT-2 as a decoder with cross-attention) is not supported");
        }
        int nEmbd = CommonConfig.size(j, "n_embd", 768, 1, MAX_WIDTH);
        JsonNode inner = j.get("n_inner");
        GPT2Config c = new GPT2Config(CommonConfig.parse(j, null, 50256, 50256),
                CommonConfig.size(j, "vocab_size", 50257, 1, MAX_VOCAB),
                CommonConfig.size(j, "n_positions", 1024, 1, MAX_POSITIONS),
                nEmbd,
                CommonConfig.size(j, "n_layer", 12, 1, MAX_LAYERS),
                CommonConfig.size(j, "n_head", 12, 1, MAX_WIDTH),
                inner == null || inner.isNull() ? 4 * nEmbd : CommonConfig.size(j, "n_inner", 0, 1, MAX_INNER),
                Activation.fromHuggingFace(j.path("activation_function").asText("gelu_new")),
                j.path("layer_norm_epsilon").asDouble(1e-5),
                j.path("scale_attn_weights").asBoolean(true),
                j.path("scale_attn_by_inverse_layer_idx").asBoolean(false),
                j.path("reorder_and_upcast_attn").asBoolean(false));
        PretrainedConfig.checkHeads("n_embd", c.nEmbd, "n_head", c.nHead);
        return c;
    }

    @Override
    public void checkWeights(ModelWeights w) {
        w.expect("wte.weight", vocabSize, nEmbd);
        w.expect("wpe.weight", nPositions, nEmbd);
        w.expectLayers("h", nLayer, "n_layer");
        w.child("h", 0).expect("mlp.c_fc.weight", nEmbd, nInner);
    }
}
