package dev.jformers.models.bert;

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
        EncoderOutput enc = bert.encode(in);
        return Heads.logits(bert.backend(), predictions.forward(enc.lastHiddenState()), enc);
    }
}
