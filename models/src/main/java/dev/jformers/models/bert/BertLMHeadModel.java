package dev.jformers.models.bert;

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
import dev.jformers.models.nn.Linear;

/** HF {@code BertLMHeadModel}: BERT as a causal decoder (config {@code is_decoder}) → {@code cls.predictions} → {@code logits}. */
public final class BertLMHeadModel implements CausalLM {
    private final BertModel bert;
    private final BertLMPredictionHead predictions;
    public BertLMHeadModel(BertConfig config, ModelWeights w) {
        bert = new BertModel(config, w.child("bert"), false);
        predictions = new BertLMPredictionHead(config, w.child("cls").child("predictions"), bert);
    }

    @Override
    public BertConfig config() {
        return bert.config();
    }

    @Override
    public Backend backend() {
        return bert.backend();
    }

    @Override
    public ModelOutput forward(ModelInput in) {
        return forward(in, null);
    }

    /** With labels the output also holds {@code loss}, as in Hugging Face. */
    @Override
    public ModelOutput forward(ModelInput in, Labels labels) {
        EncoderOutput enc = bert.encode(in);
        Tensor logits = predictions.forward(enc.lastHiddenState());
        Tensor loss = Losses.causalLM(bert.backend(), logits, labels == null ? null : labels.labels());
        return Heads.withLoss(Heads.logits(bert.backend(), logits, enc), loss);
    }

    @Override
    public KVCache newCache(int batch, int capacity) {
        return bert.newCache(batch, capacity);
    }

    @Override
    public int maxPositions() {
        return bert.maxPositions();
    }

    /** A decoder step with the cache (HF's {@code past_key_values}); needs {@code is_decoder}. */
    @Override
    public Tensor nextTokenLogits(Tensor inputIds, Tensor attentionMask, KVCache cache) {
        int tokens = inputIds.dim(1);
        Tensor hidden = bert.decode(inputIds, attentionMask, cache);                      // [B, T, C]
        Tensor logits = Tensors.host(backend(), predictions.forward(hidden.narrow(1, tokens - 1, 1)));  // [B, 1, vocab]
        return logits.contiguous().reshape(inputIds.dim(0), logits.dim(2));
    }
}
