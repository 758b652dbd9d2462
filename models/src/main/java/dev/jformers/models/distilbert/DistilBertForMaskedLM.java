package dev.jformers.models.distilbert;

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

/** HF {@code DistilBertForMaskedLM}: vocab_transform → act → vocab_layer_norm → vocab_projector (tied to the word embeddings) → {@code logits} [B, T, vocab]. */
public final class DistilBertForMaskedLM implements PreTrainedModel {
    private final DistilBertModel distilbert;
    private final Linear vocabTransform;
    private final LayerNorm vocabLayerNorm;
    private final Linear vocabProjector;
    public DistilBertForMaskedLM(DistilBertConfig config, ModelWeights w) {
        distilbert = new DistilBertModel(config, w.child("distilbert"));
        int dim = config.dim();
        vocabTransform = Linear.load(w, "vocab_transform", dim, dim);
        vocabLayerNorm = new LayerNorm(w, "vocab_layer_norm", dim, 1e-12);
        vocabProjector = config.common().tieWordEmbeddings()
                ? Linear.of(w.backend(), distilbert.wordEmbeddings().weight(), w.child("vocab_projector").tensor("bias", config.vocabSize()))
                : Linear.load(w, "vocab_projector", dim, config.vocabSize());
        w.ignore("vocab_projector.weight");
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

    /** With labels [B, T] (−100 = not masked) the output also holds {@code loss}, as in Hugging Face. */
    @Override
    public ModelOutput forward(ModelInput in, Labels labels) {
        EncoderOutput enc = distilbert.encode(in);
        Backend b = distilbert.backend();
        var h = b.activation(vocabTransform.forward(enc.lastHiddenState()), config().activation());
        var logits = vocabProjector.forward(vocabLayerNorm.forward(h));                  // [B, T, vocab]
        var loss = Losses.perToken(b, logits, labels == null ? null : labels.labels());
        return Heads.withLoss(Heads.logits(b, logits, enc), loss);
    }
}
