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

/** HF {@code DistilBertForSequenceClassification}: classifier(ReLU(pre_classifier(h[:, 0]))) → {@code logits} [B, labels]. */
public final class DistilBertForSequenceClassification implements PreTrainedModel {
    private final DistilBertModel distilbert;
    private final DistilBertClassifier head;
    public DistilBertForSequenceClassification(DistilBertConfig config, ModelWeights w) {
        distilbert = new DistilBertModel(config, w.child("distilbert"));
        head = new DistilBertClassifier(config, w, config.common().numLabels());
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
        EncoderOutput enc = distilbert.encodeForFirstToken(in);
        Tensor logits = head.forward(enc.lastHiddenState());
        Tensor loss = Losses.sequenceClassification(distilbert.backend(), distilbert.config().common(), logits, labels == null ? null : labels.labels());
        return Heads.withLoss(Heads.logits(distilbert.backend(), logits, enc), loss);
    }
}
