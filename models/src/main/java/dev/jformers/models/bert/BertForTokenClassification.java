package dev.jformers.models.bert;

import dev.jformers.core.Backend;
import dev.jformers.models.EncoderOutput;
import dev.jformers.models.Heads;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.nn.Linear;

/** HF {@code BertForTokenClassification}: {@code classifier} on every token → {@code logits} [B, T, labels]. */
public final class BertForTokenClassification implements PreTrainedModel {
    private final BertModel bert;
    private final Linear classifier;
    public BertForTokenClassification(BertConfig config, ModelWeights w) {
        bert = new BertModel(config, w.child("bert"), false);
        classifier = Linear.load(w, "classifier", config.hiddenSize(), config.common().numLabels());
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
        EncoderOutput enc = bert.encode(in);
        return Heads.logits(bert.backend(), classifier.forward(enc.lastHiddenState()), enc);
    }
}
