package dev.jformers.models.roberta;

import dev.jformers.core.Backend;
import dev.jformers.models.EncoderOutput;
import dev.jformers.models.Heads;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.bert.BertConfig;
import dev.jformers.models.nn.Linear;

/** HF {@code RobertaForMultipleChoice}: input [B, choices, T] flattened, {@code classifier} [C → 1] on the pooler → {@code logits} [B, choices]. */
public final class RobertaForMultipleChoice implements PreTrainedModel {
    private final RobertaModel roberta;
    private final Linear classifier;
    public RobertaForMultipleChoice(BertConfig config, ModelWeights w) {
        roberta = new RobertaModel(config, w.child("roberta"), true);
        classifier = Linear.load(w, "classifier", config.hiddenSize(), 1);
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
        int choices = Heads.choices(in, modelClass());
        EncoderOutput enc = roberta.encode(in.flattenChoices());
        return Heads.choiceLogits(roberta.backend(), classifier.forward(roberta.pool(enc.lastHiddenState())), choices, enc);
    }
}
