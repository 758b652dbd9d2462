package dev.jformers.models.bert;

import dev.jformers.core.Backend;
import dev.jformers.models.EncoderOutput;
import dev.jformers.models.Heads;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.nn.Linear;

/** HF {@code BertForPreTraining}: masked-LM {@code prediction_logits} [B, T, vocab] and next-sentence {@code seq_relationship_logits} [B, 2] from the pooler. */
public final class BertForPreTraining implements PreTrainedModel {
    private final BertModel bert;
    private final BertLMPredictionHead predictions;
    private final Linear seqRelationship;
    public BertForPreTraining(BertConfig config, ModelWeights w) {
        bert = new BertModel(config, w.child("bert"), true);
        predictions = new BertLMPredictionHead(config, w.child("cls").child("predictions"), bert);
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
        EncoderOutput enc = bert.encode(in);
        Backend b = bert.backend();
        ModelOutput out = new ModelOutput()
                .put("prediction_logits", dev.jformers.models.Tensors.host(b, predictions.forward(enc.lastHiddenState())))
                .put("seq_relationship_logits", dev.jformers.models.Tensors.host(b,
                        seqRelationship.forward(bert.pool(enc.lastHiddenState()))));
        return enc.addTo(out, b);
    }
}
