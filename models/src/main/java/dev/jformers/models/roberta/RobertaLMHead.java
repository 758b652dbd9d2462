package dev.jformers.models.roberta;

import dev.jformers.core.Activation;
import dev.jformers.core.Backend;
import dev.jformers.core.Tensor;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.bert.BertConfig;
import dev.jformers.models.bert.BertModel;
import dev.jformers.models.nn.LayerNorm;
import dev.jformers.models.nn.Linear;

/**
 * HF {@code RobertaLMHead} ({@code lm_head}): dense → exact GELU → layer_norm → decoder
 * [C → vocab], the decoder tied to the word embeddings with bias {@code lm_head.bias}.
 */
final class RobertaLMHead {
    private final Backend backend;
    private final Linear dense;
    private final LayerNorm layerNorm;
    private final Linear decoder;

    RobertaLMHead(BertConfig config, ModelWeights w, BertModel roberta) {
        backend = w.backend();
        int c = config.hiddenSize();
        dense = Linear.load(w, "dense", c, c);
        layerNorm = new LayerNorm(w, "layer_norm", c, config.layerNormEps());
        Tensor bias = w.tensor("bias", config.vocabSize());
        Tensor weight = config.common().tieWordEmbeddings()
                ? roberta.embeddings().wordEmbeddings().weight()
                : w.child("decoder").tensor("weight", config.vocabSize(), c);
        w.ignore("decoder.weight");
        w.ignore("decoder.bias");
        decoder = Linear.of(backend, weight, bias);
    }

    /** [B, T, C] → logits [B, T, vocab]. */
    Tensor forward(Tensor hidden) {
        Tensor h = backend.activation(dense.forward(hidden), Activation.GELU);
        return decoder.forward(layerNorm.forward(h));
    }
}
