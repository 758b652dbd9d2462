package dev.jformers.models.roberta;

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
import dev.jformers.models.bert.BertConfig;
import dev.jformers.models.nn.Linear;

/** HF {@code RobertaForQuestionAnswering}: {@code qa_outputs} → {@code start_logits}, {@code end_logits} [B, T]. */
public final class RobertaForQuestionAnswering implements PreTrainedModel {
    private final RobertaModel roberta;
    private final Linear qaOutputs;
    public RobertaForQuestionAnswering(BertConfig config, ModelWeights w) {
        roberta = new RobertaModel(config, w.child("roberta"), false);
        qaOutputs = Linear.load(w, "qa_outputs", config.hiddenSize(), 2);
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
        Tensor logits = qaOutputs.forward(enc.lastHiddenState());
        Tensor loss = Losses.questionAnswering(roberta.backend(), logits, labels);
        return Heads.withLoss(Heads.spanLogits(roberta.backend(), logits, enc), loss);
    }
}
