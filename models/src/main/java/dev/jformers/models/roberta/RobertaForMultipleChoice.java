package dev.jformers.models.roberta;

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
import dev.jformers.models.bert.BertConfig;
import dev.jformers.models.nn.Linear;

/** HF {@code RobertaForMultipleChoice}: input [B, choices, T] flattened, {@code classifier} [C → 1] on the pooler → {@code logits} [B, choices]. */
public final class RobertaForMultipleChoice implements PreTrainedModel {
    private final RobertaModel roberta;
    private final Linear classifier;
    private final Dropout dropout;
    public RobertaForMultipleChoice(BertConfig config, ModelWeights w) {
        roberta = new RobertaModel(config, w.child("roberta"), true);
        classifier = Linear.load(w, "classifier", config.hiddenSize(), 1);
        dropout = Dropout.of(w.backend(), config.common(), 0.1, "classifier_dropout", "hidden_dropout_prob");
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

    /** With labels (the right choice [B]) the output also holds {@code loss}, as in Hugging Face. */
    @Override
    public ModelOutput forward(ModelInput in, Labels labels) {
        int choices = Heads.choices(in, modelClass());
        EncoderOutput enc = roberta.encodeForFirstToken(in.flattenChoices());
        Tensor scores = classifier.forward(dropout.forward(roberta.pool(enc.lastHiddenState())));                                   // [B·choices, 1]
        Tensor loss = Losses.classes(roberta.backend(), scores.reshape(-1, choices), labels == null ? null : labels.labels());
        return Heads.withLoss(Heads.choiceLogits(roberta.backend(), scores, choices, enc), loss);
    }
}
