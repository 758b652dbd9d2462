package dev.jformers.models.gpt2;

import dev.jformers.core.AttentionMask;
import dev.jformers.core.AttentionOutput;
import dev.jformers.core.Backend;
import dev.jformers.core.Scope;
import dev.jformers.core.Tensor;
import dev.jformers.models.KVCache;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.nn.Dropout;
import dev.jformers.models.nn.LayerNorm;
import dev.jformers.models.nn.Linear;

/**
 * HF {@code GPT2Block} ({@code h.i}): a pre-LayerNorm block with causal self-attention.
 * <pre>
 *   x = x + attn.c_proj(attention(split(attn.c_attn(ln_1(x)))))   // causal, optionally cached
 *   x = x + mlp.c_proj(act(mlp.c_fc(ln_2(x))))                     // act = gelu_new by default
 * </pre>
 * Linear layers are {@code Conv1D}: weights stored [in, out].
 */
public final class GPT2Block {
    private final GPT2Config config;
    private final Backend backend;
    private final int index;
    private final float scale;
    private final LayerNorm ln1;
    private final Linear attnCAttn;      // query, key, value side by side: [C → 3C]
    private final Linear attnCProj;
    private final LayerNorm ln2;
    private final Linear mlpCFc;
    private final Linear mlpCProj;
    private final float attnDropout;     // on the attention weights
    private final Dropout residDropout;  // after each c_proj, before its residual add

    GPT2Block(GPT2Config config, ModelWeights w, int index) {
        this.config = config;
        this.backend = w.backend();
        this.index = index;
        int c = config.nEmbd();
        double s = config.scaleAttnWeights() ? 1.0 / Math.sqrt(config.headSize()) : 1.0;
        scale = (float) (config.scaleAttnByInverseLayerIdx() ? s / (index + 1) : s);
        w.ignore("attn.bias");          // the causal mask buffer: computed, not read
        w.ignore("attn.masked_bias");
        ln1 = new LayerNorm(w, "ln_1", c, config.layerNormEpsilon());
        attnCAttn = Linear.conv1d(w.child("attn"), "c_attn", c, 3 * c);
        attnCProj = Linear.conv1d(w.child("attn"), "c_proj", c, c);
        ln2 = new LayerNorm(w, "ln_2", c, config.layerNormEpsilon());
        mlpCFc = Linear.conv1d(w.child("mlp"), "c_fc", c, config.nInner());
        mlpCProj = Linear.conv1d(w.child("mlp"), "c_proj", config.nInner(), c);
        attnDropout = Dropout.of(backend, config.common(), 0.1, "attn_pdrop").p();
        residDropout = Dropout.of(backend, config.common(), 0.1, "resid_pdrop");
    }

    /**
     * x [B, T, C] → [B, T, C]; probs [B, heads, T, past + T] when asked for. With a cache, this block's keys
     * and values of the new tokens are appended to its layer and the queries attend to all of them.
     */
    public AttentionOutput forward(Tensor x, AttentionMask mask, KVCache cache, boolean returnProbs) {
        int c = config.nEmbd();
        try (Scope scope = backend.scope()) {
            // GPT2Attention
            Tensor qkv = attnCAttn.forward(ln1.forward(x));                                 // [B, T, 3C]
            Tensor query = qkv.narrow(2, 0, c), key = qkv.narrow(2, c, c), value = qkv.narrow(2, 2 * c, c);
            if (cache != null) {
                Tensor[] kv = cache.append(index, key, value);                              // [B, past + T, C]
                key = kv[0];
                value = kv[1];
            }
            AttentionOutput attention = backend.attention(query, key, value, config.nHead(), mask, scale,
                    returnProbs, attnDropout);
            Tensor x1 = backend.add(x, residDropout.forward(attnCProj.forward(attention.context())));
            // GPT2MLP
            Tensor hidden = mlpCFc.forward(ln2.forward(x1), config.activation());          // [B, T, 4C]
            Tensor y = backend.add(x1, residDropout.forward(mlpCProj.forward(hidden)));
            return new AttentionOutput(scope.keep(y), scope.keep(attention.probs()));
        }
    }
}
