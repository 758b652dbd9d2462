package dev.jformers.models.gpt2;

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

/** HF {@code GPT2ForTokenClassification}: {@code classifier} on every token → {@code logits} [B, T, labels]. */
public final class GPT2ForTokenClassification implements PreTrainedModel {
    private final GPT2Model transformer;
    private final Linear classifier;
    private final Dropout dropout;

    public GPT2ForTokenClassification(GPT2Config config, ModelWeights w) {
        transformer = new GPT2Model(config, w.child("transformer"));
        classifier = Linear.load(w, "classifier", config.nEmbd(), config.common().numLabels());
        dropout = Dropout.of(w.backend(), config.common(), 0.1, "classifier_dropout", "hidden_dropout");
    }

    @Override
    public GPT2Config config() {
        return transformer.config();
    }

    @Override
    public Backend backend() {
        return transformer.backend();
    }

    @Override
    public ModelOutput forward(ModelInput in) {
        return forward(in, null);
    }

    /** With labels the output also holds {@code loss}, as in Hugging Face. */
    @Override
    public ModelOutput forward(ModelInput in, Labels labels) {
        EncoderOutput enc = transformer.transform(in);
        Tensor logits = classifier.forward(dropout.forward(enc.lastHiddenState()));
        Tensor loss = Losses.perToken(backend(), logits, labels == null ? null : labels.labels());
        return Heads.withLoss(Heads.logits(backend(), logits, enc), loss);
    }
}
