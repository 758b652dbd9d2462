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

/** HF {@code RobertaForMaskedLM}: RoBERTa → {@code lm_head} → {@code logits} [B, T, vocab]. */
public final class RobertaForMaskedLM implements PreTrainedModel {
    private final RobertaModel roberta;
    private final RobertaLMHead lmHead;
    public RobertaForMaskedLM(BertConfig config, ModelWeights w) {
        roberta = new RobertaModel(config, w.child("roberta"), false);
        lmHead = new RobertaLMHead(config, w.child("lm_head"), roberta);
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
        EncoderOutput enc = roberta.encode(in);
        Tensor logits = lmHead.forward(enc.lastHiddenState());
        Tensor loss = Losses.perToken(roberta.backend(), logits, labels == null ? null : labels.labels());
        return Heads.withLoss(Heads.logits(roberta.backend(), logits, enc), loss);
    }
}
