package dev.jformers.models.bert;

import dev.jformers.models.nn.Dropout;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.AttentionOutput;
import dev.jformers.core.Backend;
import dev.jformers.core.Scope;
import dev.jformers.core.Tensor;
import dev.jformers.models.KVCache;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.Tensors;
import dev.jformers.models.nn.LayerNorm;
import dev.jformers.models.nn.Linear;

/**
 * One post-LayerNorm transformer block (HF {@code BertLayer}, also RoBERTa's):
 * <pre>
 *   a = LayerNorm(x + attention.output.dense(selfAttention(x)))   // BertAttention
 *   y = LayerNorm(a + output.dense(act(intermediate.dense(a))))   // BertIntermediate + BertOutput
 * </pre>
 */
public final class BertLayer {
    private final Backend backend;
    private final int heads;
    private final float scale;
    // attention.self
    private final Linear queryKeyValue;   // query, key, value fused: one product [C → 3C]
    // attention.output
    private final Linear attentionOutputDense;
    private final LayerNorm attentionOutputLayerNorm;
    // intermediate, output
    private final Linear intermediateDense;
    private final BertConfig config;
    private final Linear outputDense;
    private final LayerNorm outputLayerNorm;
    private final float attentionDropout;   // on the attention probabilities
    private final Dropout hiddenDropout;    // after each dense, before its residual LayerNorm

    public BertLayer(BertConfig config, ModelWeights w) {
        this.config = config;
        this.backend = w.backend();
        int c = config.hiddenSize();
        heads = config.numAttentionHeads();
        scale = (float) (1.0 / Math.sqrt(config.headSize()));
        ModelWeights self = w.child("attention").child("self");
        queryKeyValue = Linear.fused(self, c, c, "query", "key", "value");
        ModelWeights attnOut = w.child("attention").child("output");
        attentionOutputDense = Linear.load(attnOut, "dense", c, c);
        attentionOutputLayerNorm = new LayerNorm(attnOut, "LayerNorm", c, config.layerNormEps());
        intermediateDense = Linear.load(w.child("intermediate"), "dense", c, config.intermediateSize());
        outputDense = Linear.load(w.child("output"), "dense", config.intermediateSize(), c);
        outputLayerNorm = new LayerNorm(w.child("output"), "LayerNorm", c, config.layerNormEps());
        attentionDropout = Dropout.of(backend, config.common(), 0.1, "attention_probs_dropout_prob").p();
        hiddenDropout = Dropout.of(backend, config.common(), 0.1, "hidden_dropout_prob");
    }

    /** x [B, T, C] → [B, T, C]; probs [B, heads, T, T] when asked for. */
    public AttentionOutput forward(Tensor x, AttentionMask mask, boolean returnProbs) {
        return forward(x, mask, null, 0, returnProbs);
    }

    /**
     * x [B, T, C] → [B, T, C]. With a cache (a decoder step, {@code is_decoder}) the new tokens' keys and values
     * go into layer {@code index} of it and the queries attend to the cached ones too (HF's past_key_value).
     */
    public AttentionOutput forward(Tensor x, AttentionMask mask, KVCache cache, int index, boolean returnProbs) {
        int c = config.hiddenSize();
        try (Scope scope = backend.scope()) {   // every intermediate below is handed back when the layer ends
            // BertSelfAttention: softmax(query·keyᵀ/√d + mask)·value, heads side by side in C
            Tensor qkv = queryKeyValue.forward(x);                                      // [B, T, 3C]
            Tensor query = qkv.narrow(2, 0, c), key = qkv.narrow(2, c, c), value = qkv.narrow(2, 2 * c, c);
            if (cache != null) {
                Tensor[] kv = cache.append(index, key, value);                          // [B, past + T, C]
                key = kv[0];
                value = kv[1];
            }
            AttentionOutput attention = backend.attention(query, key, value, heads, mask, scale, returnProbs,
                    attentionDropout);                                                   // [B, T, C]
            Tensor y = outputs(attention.context(), x);                                  // [B, T, C]
            return new AttentionOutput(scope.keep(y), scope.keep(attention.probs()));
        }
    }

    /**
     * The last layer under a head that reads only h[:, 0]: keys and values of every token, the rest for each
     * sequence's first token alone — rows that no head reads are not computed. x [B, T, C] → [B, 1, C], equal to
     * forward(x)[:, :1]. (The fused product still computes every token's query: it is one GEMM.)
     */
    public Tensor forwardFirstToken(Tensor x, AttentionMask mask) {
        int c = config.hiddenSize();
        try (Scope scope = backend.scope()) {
            Tensor qkv = queryKeyValue.forward(x);                                        // [B, T, 3C]
            Tensor query = Tensors.firstTokens(backend, qkv).narrow(2, 0, c);             // [B, 1, C]
            Tensor key = qkv.narrow(2, c, c), value = qkv.narrow(2, 2 * c, c);            // [B, T, C]
            Tensor context = backend.attention(query, key, value, heads, mask, scale, false, attentionDropout)
                    .context();                                                           // [B, 1, C]
            return scope.keep(outputs(context, Tensors.firstTokens(backend, x)));         // [B, 1, C]
        }
    }

    /** BertSelfOutput, BertIntermediate and BertOutput: the attention's context and the layer's input x → its output. */
    private Tensor outputs(Tensor context, Tensor x) {
        // BertSelfOutput: LayerNorm(dropout(dense(context)) + x), one call the backend may fuse
        Tensor a = attentionOutputLayerNorm.forward(attentionOutputDense, hiddenDropout, context, x);
        // BertIntermediate + BertOutput: the feed-forward network
        Tensor h = intermediateDense.forward(a, config.hiddenAct());                     // [B, T, 4C]
        return outputLayerNorm.forward(outputDense, hiddenDropout, h, a);                // [B, T, C]
    }
}
