package dev.jformers.models.gpt2;

import dev.jformers.models.Losses;
import dev.jformers.models.Labels;
import dev.jformers.core.Backend;
import dev.jformers.core.Tensor;
import dev.jformers.models.CausalLM;
import dev.jformers.models.EncoderOutput;
import dev.jformers.models.Heads;
import dev.jformers.models.KVCache;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.Tensors;
import dev.jformers.models.nn.Linear;

/**
 * HF {@code GPT2LMHeadModel}: GPT-2 → {@code lm_head} [C → vocab], no bias, tied to wte →
 * {@code logits} [B, T, vocab]. {@link dev.jformers.models.generation.Generator} drives it with a
 * {@link KVCache}; position ids come from the attention mask as HF's {@code prepare_inputs_for_generation}
 * makes them (cumsum(mask) − 1, padding at 1), so left padding is invisible.
 */
public final class GPT2LMHeadModel implements CausalLM {
    private final GPT2Model transformer;
    private final Linear lmHead;

    public GPT2LMHeadModel(GPT2Config config, ModelWeights w) {
        transformer = new GPT2Model(config, w.child("transformer"));
        Tensor weight = config.common().tieWordEmbeddings()
                ? transformer.wte().weight()
                : w.child("lm_head").tensor("weight", config.vocabSize(), config.nEmbd());
        w.ignore("lm_head.weight");
        lmHead = Linear.of(w.backend(), weight, null);
    }

    @Override
    public GPT2Config config() {
        return transformer.config();
    }

    @Override
    public Backend backend() {
        return transformer.backend();
    }

    @Override
    public ModelOutput forward(ModelInput in) {
        return forward(in, null);
    }

    /** With labels the output also holds {@code loss}, as in Hugging Face. */
    @Override
    public ModelOutput forward(ModelInput in, Labels labels) {
        EncoderOutput enc = transformer.transform(in);
        Tensor logits = lmHead.forward(enc.lastHiddenState());
        Tensor loss = Losses.causalLM(backend(), logits, labels == null ? null : labels.labels());
        return Heads.withLoss(Heads.logits(backend(), logits, enc), loss);
    }

    /**
     * One decoding step: runs the new tokens [B, T] through the cached model and returns the
     * logits of the last position [B, vocab] on the host.
     */
    public Tensor nextTokenLogits(Tensor inputIds, Tensor attentionMask, Tensor positionIds, KVCache cache) {
        EncoderOutput enc = transformer.transform(inputIds, attentionMask, positionIds, cache, false, false);
        Tensor last = enc.lastHiddenState().select(1, inputIds.dim(1) - 1);                 // [B, C]
        Tensor logits = lmHead.forward(last);                                                // [B, vocab]
        backend().recycle(enc.lastHiddenState());   // dead: the next step's ln_f reuses it
        return Tensors.host(backend(), logits);
    }

    @Override
    public Tensor nextTokenLogits(Tensor inputIds, Tensor attentionMask, KVCache cache) {
        int tokens = inputIds.dim(1);
        return nextTokenLogits(inputIds, attentionMask, positionIds(attentionMask, attentionMask.dim(1) - tokens, tokens), cache);
    }

    /** HF: position = cumsum(mask) − 1, and 1 where the mask is 0; columns [from, from + count). */
    public static Tensor positionIds(Tensor attentionMask, int from, int count) {
        int batch = attentionMask.dim(0), width = attentionMask.dim(1);
        long[] mask = attentionMask.toLongArray();
        long[] flat = new long[batch * count];
        for (int b = 0; b < batch; b++) {
            long cumulative = 0;
            for (int t = 0; t < from + count; t++) {
                long m = mask[b * width + t];
                cumulative += m;
                if (t >= from) {
                    flat[b * count + t - from] = m == 0 ? 1 : cumulative - 1;
                }
            }
        }
        return Tensor.ofLongs(flat, batch, count);
    }

    @Override
    public KVCache newCache(int batch, int capacity) {
        if (capacity > config().nPositions()) {
            throw new dev.jformers.core.JformersException("a KV cache of " + capacity
                    + " positions exceeds the model's n_positions " + config().nPositions());
        }
        return new KVCache(backend(), config().nLayer(), batch, config().nEmbd(), capacity);
    }

    @Override
    public int maxPositions() {
        return config().nPositions();
    }
}
