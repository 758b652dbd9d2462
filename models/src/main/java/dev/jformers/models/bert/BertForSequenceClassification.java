package dev.jformers.models.bert;

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
import dev.jformers.models.nn.Linear;

/** HF {@code BertForSequenceClassification}: {@code classifier} on the pooler → {@code logits} [B, labels]. */
public final class BertForSequenceClassification implements PreTrainedModel {
    private final BertModel bert;
    private final Linear classifier;
    private final Dropout dropout;
    public BertForSequenceClassification(BertConfig config, ModelWeights w) {
        bert = new BertModel(config, w.child("bert"), true);
        classifier = Linear.load(w, "classifier", config.hiddenSize(), config.common().numLabels());
        dropout = Dropout.of(w.backend(), config.common(), 0.1, "classifier_dropout", "hidden_dropout_prob");
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
        EncoderOutput enc = bert.encodeForFirstToken(in);
        Tensor logits = classifier.forward(dropout.forward(bert.pool(enc.lastHiddenState())));
        Tensor loss = Losses.sequenceClassification(bert.backend(), bert.config().common(), logits, labels == null ? null : labels.labels());
        return Heads.withLoss(Heads.logits(bert.backend(), logits, enc), loss);
    }
}
