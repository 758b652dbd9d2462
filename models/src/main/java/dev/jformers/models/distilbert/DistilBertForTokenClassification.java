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

/** HF {@code DistilBertForTokenClassification}: {@code classifier} on every token → {@code logits} [B, T, labels]. */
public final class DistilBertForTokenClassification implements PreTrainedModel {
    private final DistilBertModel distilbert;
    private final Linear classifier;
    private final Dropout dropout;
    public DistilBertForTokenClassification(DistilBertConfig config, ModelWeights w) {
        distilbert = new DistilBertModel(config, w.child("distilbert"));
        classifier = Linear.load(w, "classifier", config.dim(), config.common().numLabels());
        dropout = Dropout.of(w.backend(), config.common(), 0.1, "dropout");
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
        Tensor logits = classifier.forward(dropout.forward(enc.lastHiddenState()));
        Tensor loss = Losses.perToken(distilbert.backend(), logits, labels == null ? null : labels.labels());
        return Heads.withLoss(Heads.logits(distilbert.backend(), logits, enc), loss);
    }
}
