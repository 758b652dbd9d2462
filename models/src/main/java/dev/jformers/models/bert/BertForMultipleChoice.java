package dev.jformers.models.bert;

import dev.jformers.core.Backend;
import dev.jformers.models.EncoderOutput;
import dev.jformers.models.Heads;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.nn.Linear;

/** HF {@code BertForMultipleChoice}: input [B, choices, T] flattened, {@code classifier} [C → 1] on the pooler → {@code logits} [B, choices]. */
public final class BertForMultipleChoice implements PreTrainedModel {
    private final BertModel bert;
    private final Linear classifier;
    public BertForMultipleChoice(BertConfig config, ModelWeights w) {
        bert = new BertModel(config, w.child("bert"), true);
        classifier = Linear.load(w, "classifier", config.hiddenSize(), 1);
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
        int choices = Heads.choices(in, modelClass());
        EncoderOutput enc = bert.encode(in.flattenChoices());
        return Heads.choiceLogits(bert.backend(), classifier.forward(bert.pool(enc.lastHiddenState())), choices, enc);
    }
}
