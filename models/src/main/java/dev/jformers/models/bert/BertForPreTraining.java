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
        return forward(in, null);
    }

    /** With labels (masked-LM {@code labels} and {@code next_sentence_label}): loss = MLM loss + NSP loss. */
    @Override
    public ModelOutput forward(ModelInput in, Labels labels) {
        EncoderOutput enc = bert.encode(in);
        Backend b = bert.backend();
        Tensor predictionLogits = predictions.forward(enc.lastHiddenState());            // [B, T, vocab]
        Tensor seqRelationshipLogits = seqRelationship.forward(bert.pool(enc.lastHiddenState())); // [B, 2]
        Tensor loss = null;
        if (labels != null && labels.labels() != null && labels.nextSentenceLabel() != null) {
            loss = b.add(Losses.perToken(b, predictionLogits, labels.labels()),
                    Losses.classes(b, seqRelationshipLogits, labels.nextSentenceLabel()));
        }
        ModelOutput out = new ModelOutput()
                .put("prediction_logits", dev.jformers.models.Tensors.host(b, predictionLogits))
                .put("seq_relationship_logits", dev.jformers.models.Tensors.host(b, seqRelationshipLogits));
        return Heads.withLoss(enc.addTo(out, b), loss);
    }
}
