package dev.jformers.models.distilbert;

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
    public DistilBertForQuestionAnswering(DistilBertConfig config, ModelWeights w) {
        distilbert = new DistilBertModel(config, w.child("distilbert"));
        qaOutputs = Linear.load(w, "qa_outputs", config.dim(), 2);
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
        EncoderOutput enc = distilbert.encode(in);
        return Heads.spanLogits(distilbert.backend(), qaOutputs.forward(enc.lastHiddenState()), enc);
    }
}
