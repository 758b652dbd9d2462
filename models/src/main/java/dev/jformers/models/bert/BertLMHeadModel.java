package dev.jformers.models.bert;

import dev.jformers.core.Tensor;
import dev.jformers.models.Losses;
import dev.jformers.models.Labels;
import dev.jformers.core.Backend;
import dev.jformers.models.EncoderOutput;
import dev.jformers.models.Heads;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.nn.Linear;

/** HF {@code BertLMHeadModel}: BERT as a causal decoder (config {@code is_decoder}) → {@code cls.predictions} → {@code logits}. */
public final class BertLMHeadModel implements PreTrainedModel {
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
}
