package dev.jformers.models.roberta;

import dev.jformers.core.Tensor;
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
import dev.jformers.models.bert.BertConfig;
import dev.jformers.models.nn.Linear;

/** HF {@code RobertaForCausalLM}: RoBERTa → {@code lm_head}; causal attention when the config says {@code is_decoder} (as HF requires). */
public final class RobertaForCausalLM implements CausalLM {
    private final RobertaModel roberta;
    private final RobertaLMHead lmHead;
    public RobertaForCausalLM(BertConfig config, ModelWeights w) {
        roberta = new RobertaModel(config, w.child("roberta"), false);
        lmHead = new RobertaLMHead(config, w.child("lm_head"), roberta);
    }

    @Override
    public BertConfig config() {
        return roberta.config();
    }

    @Override
    public Backend backend() {
        return roberta.backend();
    }

    @Override
    public ModelOutput forward(ModelInput in) {
        return forward(in, null);
    }

    /** With labels the output also holds {@code loss}, as in Hugging Face. */
    @Override
    public ModelOutput forward(ModelInput in, Labels labels) {
        EncoderOutput enc = roberta.encode(in);
        Tensor logits = lmHead.forward(enc.lastHiddenState());
        Tensor loss = Losses.causalLM(roberta.backend(), logits, labels == null ? null : labels.labels());
        return Heads.withLoss(Heads.logits(roberta.backend(), logits, enc), loss);
    }

    @Override
    public KVCache newCache(int batch, int capacity) {
        return roberta.newCache(batch, capacity);
    }

    @Override
    public int maxPositions() {
        return roberta.maxPositions();
    }

    /** A decoder step with the cache (HF's {@code past_key_values}); needs {@code is_decoder}. */
    @Override
    public Tensor nextTokenLogits(Tensor inputIds, Tensor attentionMask, KVCache cache) {
        int tokens = inputIds.dim(1);
        Tensor hidden = roberta.decode(inputIds, attentionMask, cache);                      // [B, T, C]
        Tensor logits = Tensors.host(backend(), lmHead.forward(hidden.narrow(1, tokens - 1, 1)));  // [B, 1, vocab]
        return logits.contiguous().reshape(inputIds.dim(0), logits.dim(2));
    }
}
