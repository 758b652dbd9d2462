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

/** HF {@code RobertaForSequenceClassification}: {@code classifier} (dense → tanh → out_proj) on {@code <s>} → {@code logits} [B, labels]. */
public final class RobertaForSequenceClassification implements PreTrainedModel {
    private final RobertaModel roberta;
    private final RobertaClassificationHead classifier;
    public RobertaForSequenceClassification(BertConfig config, ModelWeights w) {
        roberta = new RobertaModel(config, w.child("roberta"), false);
        classifier = new RobertaClassificationHead(config, w.child("classifier"));
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
        EncoderOutput enc = roberta.encodeForFirstToken(in);
        Tensor logits = classifier.forward(enc.lastHiddenState());
        Tensor loss = Losses.sequenceClassification(roberta.backend(), roberta.config().common(), logits, labels == null ? null : labels.labels());
        return Heads.withLoss(Heads.logits(roberta.backend(), logits, enc), loss);
    }
}
