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
        EncoderOutput enc = distilbert.encode(in);
        return Heads.logits(distilbert.backend(), head.forward(enc.lastHiddenState()), enc);
    }
}
