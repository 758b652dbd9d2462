package dev.jformers.models.gpt2;

import dev.jformers.models.nn.Dropout;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.AttentionOutput;
import dev.jformers.core.Backend;
import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;
import dev.jformers.models.EncoderOutput;
import dev.jformers.models.KVCache;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.Tensors;
import dev.jformers.models.nn.Embedding;
import dev.jformers.models.nn.LayerNorm;
import dev.jformers.models.nn.Linear;

import java.util.ArrayList;
import java.util.List;

/**
 * HF {@code GPT2Model}: token (wte) + position (wpe) embeddings, N pre-LayerNorm blocks with
 * causal self-attention, then ln_f. Each block ({@code h.i}):
 * <pre>
 *   x = x + attn.c_proj(attention(split(attn.c_attn(ln_1(x)))))   // causal, optionally cached
 *   x = x + mlp.c_proj(act(mlp.c_fc(ln_2(x))))                     // act = gelu_new by default
 * </pre>
 * Linear layers are {@code Conv1D}: weights stored [in, out].
 */
public final class GPT2Model implements PreTrainedModel {
    private final GPT2Config config;
    private final Backend backend;
    private final Embedding wte;
    private final Embedding wpe;
    private final List<Block> h = new ArrayList<>();
    private final LayerNorm lnF;
    private final Dropout embdDropout;
    private final Dropout residDropout;   // after each c_proj, before its residual add
    private final float attnDropout;      // on the attention weights

    private record Block(LayerNorm ln1, Linear cAttn, Linear attnCProj, float scale, LayerNorm ln2, Linear cFc,
                         Linear mlpCProj) {
    }

    public GPT2Model(GPT2Config config, ModelWeights w) {
        this.config = config;
        this.backend = w.backend();
        int c = config.nEmbd();
        wte = new Embedding(w, "wte", config.vocabSize(), c);
        wpe = new Embedding(w, "wpe", config.nPositions(), c);
        for (int i = 0; i < config.nLayer(); i++) {
            ModelWeights b = w.child("h", i);
            double scale = config.scaleAttnWeights() ? 1.0 / Math.sqrt(config.headSize()) : 1.0;
            if (config.scaleAttnByInverseLayerIdx()) {
                scale /= i + 1;
            }
            b.ignore("attn.bias");          // the causal mask buffer: computed, not read
            b.ignore("attn.masked_bias");
            h.add(new Block(
                    new LayerNorm(b, "ln_1", c, config.layerNormEpsilon()),
                    Linear.conv1d(b.child("attn"), "c_attn", c, 3 * c),
                    Linear.conv1d(b.child("attn"), "c_proj", c, c),
                    (float) scale,
                    new LayerNorm(b, "ln_2", c, config.layerNormEpsilon()),
                    Linear.conv1d(b.child("mlp"), "c_fc", c, config.nInner()),
                    Linear.conv1d(b.child("mlp"), "c_proj", config.nInner(), c)));
        }
        lnF = new LayerNorm(w, "ln_f", c, config.layerNormEpsilon());
        embdDropout = Dropout.of(backend, config.common(), 0.1, "embd_pdrop");
        residDropout = Dropout.of(backend, config.common(), 0.1, "resid_pdrop");
        attnDropout = Dropout.of(backend, config.common(), 0.1, "attn_pdrop").p();
    }

    @Override
    public GPT2Config config() {
        return config;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    Embedding wte() {
        return wte;
    }

    /**
     * input ids [B, T] → hidden states [B, T, C] after ln_f.
     *
     * @param attentionMask [B, past + T] (1 = token, 0 = padding) or null
     * @param positionIds   [B, T] or null for past .. past+T−1
     * @param cache         keys/values of earlier tokens, extended by this call; or null
     */
    public EncoderOutput transform(Tensor inputIds, Tensor attentionMask, Tensor positionIds, KVCache cache,
                                   boolean outputHiddenStates, boolean outputAttentions) {
        int tokens = inputIds.dim(1), past = cache == null ? 0 : cache.length();
        if (past + tokens > config.nPositions()) {
            throw new JformersException((past + tokens) + " positions exceed the model's n_positions " + config.nPositions());
        }
        if (positionIds == null) {
            positionIds = Tensors.arange(past, tokens);                                  // [T]
        }
        int c = config.nEmbd();
        Tensor tokenEmbeds = wte.forward(inputIds), positionEmbeds = wpe.forward(positionIds);
        Tensor x = embdDropout.forward(backend.add(tokenEmbeds, positionEmbeds));       // [B, T, C]
        // recycle: an intermediate that is dead gives its memory to the next output of its size, so that
        // decoding allocates nothing per token (block inputs are kept when they are hidden states)
        backend.recycle(tokenEmbeds);
        backend.recycle(positionEmbeds);
        AttentionMask mask = AttentionMask.causal(attentionMask);
        List<Tensor> hidden = new ArrayList<>();
        List<Tensor> attentions = new ArrayList<>();
        for (int i = 0; i < h.size(); i++) {
            Block b = h.get(i);
            if (outputHiddenStates) {
                hidden.add(x);
            }
            Tensor ln1 = b.ln1().forward(x);
            Tensor qkv = b.cAttn().forward(ln1);                                         // [B, T, 3C]
            backend.recycle(ln1);
            Tensor q = qkv.narrow(2, 0, c), k = qkv.narrow(2, c, c), v = qkv.narrow(2, 2 * c, c);
            if (cache != null) {
                Tensor[] kv = cache.append(i, k, v);                                     // [B, past+T, C]
                k = kv[0];
                v = kv[1];
            }
            AttentionOutput attn = backend.attention(q, k, v, config.nHead(), mask, b.scale(), outputAttentions,
                    attnDropout);
            backend.recycle(qkv);   // k and v, when cached, were copied into the cache
            Tensor proj = residDropout.forward(b.attnCProj().forward(attn.context()));
            backend.recycle(attn.context());
            Tensor x1 = backend.add(x, proj);                                            // x + attn(ln_1(x))
            backend.recycle(proj);
            if (!outputHiddenStates) {
                backend.recycle(x);
            }
            Tensor ln2 = b.ln2().forward(x1);
            Tensor m = b.cFc().forward(ln2, config.activation());                        // [B, T, 4C]
            backend.recycle(ln2);
            Tensor mlp = residDropout.forward(b.mlpCProj().forward(m));
            backend.recycle(m);
            x = backend.add(x1, mlp);                                                    // x1 + mlp(ln_2(x1))
            backend.recycle(mlp);
            backend.recycle(x1);
            if (outputAttentions) {
                attentions.add(attn.probs());
            }
        }
        if (cache != null) {
            cache.advance(tokens);
        }
        Tensor last = lnF.forward(x);
        backend.recycle(x);   // never a hidden state: HF takes the last one after ln_f
        x = last;
        if (outputHiddenStates) {
            hidden.add(x);   // HF: the last hidden state is taken after ln_f
        }
        return new EncoderOutput(x, hidden, attentions);
    }

    EncoderOutput transform(ModelInput in) {
        in.requireRank2(modelClass());
        return transform(in.inputIds(), in.effectiveAttentionMask(), in.positionIds(), null,
                in.outputHiddenStates(), in.outputAttentions());
    }

    @Override
    public ModelOutput forward(ModelInput in) {
        EncoderOutput enc = transform(in);
        return enc.addTo(new ModelOutput().put("last_hidden_state", Tensors.host(backend, enc.lastHiddenState())), backend);
    }
}
