package dev.jformers.models.distilbert;

import dev.jformers.models.nn.Dropout;
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
import dev.jformers.models.nn.LayerNorm;
import dev.jformers.models.nn.Linear;

/** HF {@code DistilBertForQuestionAnswering}: {@code qa_outputs} → {@code start_logits}, {@code end_logits} [B, T]. */
public final class DistilBertForQuestionAnswering implements PreTrainedModel {
    private final DistilBertModel distilbert;
    private final Linear qaOutputs;
    private final Dropout dropout;
    public DistilBertForQuestionAnswering(DistilBertConfig config, ModelWeights w) {
        distilbert = new DistilBertModel(config, w.child("distilbert"));
        qaOutputs = Linear.load(w, "qa_outputs", config.dim(), 2);
        dropout = Dropout.of(w.backend(), config.common(), 0.1, "qa_dropout");
    }

    @Override
    public DistilBertConfig config() {
        return distilbert.config();
    }

    @Override
    public Backend backend() {
        return distilbert.backend();
    }

    @Override
    public ModelOutput forward(ModelInput in) {
        return forward(in, null);
    }

    /** With labels the output also holds {@code loss}, as in Hugging Face. */
    @Override
    public ModelOutput forward(ModelInput in, Labels labels) {
        EncoderOutput enc = distilbert.encode(in);
        Tensor logits = qaOutputs.forward(dropout.forward(enc.lastHiddenState()));
        Tensor loss = Losses.questionAnswering(distilbert.backend(), logits, labels);
        return Heads.withLoss(Heads.spanLogits(distilbert.backend(), logits, enc), loss);
    }
}
