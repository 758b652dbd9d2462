package dev.jformers.models.distilbert;

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

/** HF {@code DistilBertForMultipleChoice}: input [B, choices, T] flattened, classifier(ReLU(pre_classifier(h[:, 0]))) → {@code logits} [B, choices]. */
public final class DistilBertForMultipleChoice implements PreTrainedModel {
    private final DistilBertModel distilbert;
    private final DistilBertClassifier head;
    public DistilBertForMultipleChoice(DistilBertConfig config, ModelWeights w) {
        distilbert = new DistilBertModel(config, w.child("distilbert"));
        head = new DistilBertClassifier(config, w, 1);
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

    /** With labels (the right choice [B]) the output also holds {@code loss}, as in Hugging Face. */
    @Override
    public ModelOutput forward(ModelInput in, Labels labels) {
        int choices = Heads.choices(in, modelClass());
        EncoderOutput enc = distilbert.encodeForFirstToken(in.flattenChoices());
        Tensor scores = head.forward(enc.lastHiddenState());                                   // [B·choices, 1]
        Tensor loss = Losses.classes(distilbert.backend(), scores.reshape(-1, choices), labels == null ? null : labels.labels());
        return Heads.withLoss(Heads.choiceLogits(distilbert.backend(), scores, choices, enc), loss);
    }
}
