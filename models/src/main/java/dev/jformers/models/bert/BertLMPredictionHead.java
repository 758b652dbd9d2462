package dev.jformers.models.bert;

import dev.jformers.core.Backend;
import dev.jformers.core.Tensor;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.nn.LayerNorm;
import dev.jformers.models.nn.Linear;

/**
 * HF {@code BertLMPredictionHead} ({@code cls.predictions}): dense → act → LayerNorm → decoder
 * [C → vocab]. The decoder's weight is the word-embedding table (tied) and its bias is
 * {@code cls.predictions.bias}, unless the config unties them.
 */
final class BertLMPredictionHead {
    private final BertConfig config;
    private final Backend backend;
    private final Linear transformDense;
    private final LayerNorm transformLayerNorm;
    private final Linear decoder;

    BertLMPredictionHead(BertConfig config, ModelWeights w, BertModel bert) {
        this.config = config;
        this.backend = w.backend();
        int c = config.hiddenSize();
        transformDense = Linear.load(w.child("transform"), "dense", c, c);
        transformLayerNorm = new LayerNorm(w.child("transform"), "LayerNorm", c, config.layerNormEps());
        Tensor bias = w.tensor("bias", config.vocabSize());
        Tensor weight = config.common().tieWordEmbeddings()
                ? bert.embeddings().wordEmbeddings().weight()
                : w.child("decoder").tensor("weight", config.vocabSize(), c);
        w.ignore("decoder.weight");
        w.ignore("decoder.bias");
        decoder = Linear.of(backend, weight, bias);
    }

    /** [B, T, C] → logits [B, T, vocab]. */
    Tensor forward(Tensor hidden) {
        Tensor h = backend.activation(transformDense.forward(hidden), config.hiddenAct());
        return decoder.forward(transformLayerNorm.forward(h));
    }
}
