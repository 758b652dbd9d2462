package dev.jformers.models.bert;

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

/** HF {@code BertForNextSentencePrediction}: {@code cls.seq_relationship} on the pooler → {@code logits} [B, 2] (0 = is next). */
public final class BertForNextSentencePrediction implements PreTrainedModel {
    private final BertModel bert;
    private final Linear seqRelationship;
    public BertForNextSentencePrediction(BertConfig config, ModelWeights w) {
        bert = new BertModel(config, w.child("bert"), true);
        seqRelationship = Linear.load(w.child("cls"), "seq_relationship", config.hiddenSize(), 2);
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
        Tensor logits = seqRelationship.forward(bert.pool(enc.lastHiddenState()));
        Tensor loss = Losses.classes(bert.backend(), logits, labels == null ? null : labels.labels());
        return Heads.withLoss(Heads.logits(bert.backend(), logits, enc), loss);
    }
}
