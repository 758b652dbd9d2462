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
        return forward(in, null);
    }

    /** With labels the output also holds {@code loss}, as in Hugging Face. */
    @Override
    public ModelOutput forward(ModelInput in, Labels labels) {
        EncoderOutput enc = bert.encode(in);
        Tensor logits = qaOutputs.forward(enc.lastHiddenState());
        Tensor loss = Losses.questionAnswering(bert.backend(), logits, labels);
        return Heads.withLoss(Heads.spanLogits(bert.backend(), logits, enc), loss);
    }
}
