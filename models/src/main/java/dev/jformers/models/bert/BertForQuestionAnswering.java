package dev.jformers.models.bert;

import dev.jformers.core.Backend;
import dev.jformers.models.EncoderOutput;
import dev.jformers.models.Heads;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.nn.Linear;

/** HF {@code BertForQuestionAnswering}: {@code qa_outputs} [C → 2] on every token → {@code start_logits}, {@code end_logits} [B, T]. */
public final class BertForQuestionAnswering implements PreTrainedModel {
    private final BertModel bert;
    private final Linear qaOutputs;
    public BertForQuestionAnswering(BertConfig config, ModelWeights w) {
        bert = new BertModel(config, w.child("bert"), false);
        qaOutputs = Linear.load(w, "qa_outputs", config.hiddenSize(), 2);
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
        return Heads.spanLogits(bert.backend(), qaOutputs.forward(enc.lastHiddenState()), enc);
    }
}
