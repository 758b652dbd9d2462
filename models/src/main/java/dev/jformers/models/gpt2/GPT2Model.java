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
 * HF {@code GPT2Model}: token (wte) + position (wpe) embeddings, N pre-LayerNorm {@link GPT2Block}s
 * with causal self-attention ({@code h.i}), then ln_f.
 */
public final class GPT2Model implements PreTrainedModel {
    private final GPT2Config config;
    private final Backend backend;
    private final Embedding wte;
    private final Embedding wpe;
    private final List<GPT2Block> h = new ArrayList<>();
    private final LayerNorm lnF;
    private final Dropout embdDropout;

    public GPT2Model(GPT2Config config, ModelWeights w) {
        this.config = config;
        this.backend = w.backend();
        int c = config.nEmbd();
        wte = new Embedding(w, "wte", config.vocabSize(), c);
        wpe = new Embedding(w, "wpe", config.nPositions(), c);
        for (int i = 0; i < config.nLayer(); i++) {
            h.add(new GPT2Block(config, w.child("h", i), i));
        }
        lnF = new LayerNorm(w, "ln_f", c, config.layerNormEpsilon());
        embdDropout = Dropout.of(backend, config.common(), 0.1, "embd_pdrop");
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
        Tensor tokenEmbeds = wte.forward(inputIds), positionEmbeds = wpe.forward(positionIds);
        Tensor x = embdDropout.forward(backend.add(tokenEmbeds, positionEmbeds));       // [B, T, C]
        // recycle: a dead tensor gives its memory to the next output of its size, so that decoding allocates
        // nothing per token (each block hands back its own intermediates: GPT2Block's scope)
        backend.recycle(tokenEmbeds);
        backend.recycle(positionEmbeds);
        AttentionMask mask = AttentionMask.causal(attentionMask);
        List<Tensor> hidden = new ArrayList<>();
        List<Tensor> attentions = new ArrayList<>();
        for (GPT2Block block : h) {
            if (outputHiddenStates) {
                hidden.add(x);
            }
            AttentionOutput out = block.forward(x, mask, cache, outputAttentions);
            if (!outputHiddenStates) {
                backend.recycle(x);   // the block's input is dead unless it is returned as a hidden state
            }
            x = out.context();
            if (outputAttentions) {
                attentions.add(out.probs());
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
