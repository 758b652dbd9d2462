package dev.jformers.models.roberta;

import dev.jformers.models.nn.Dropout;
import dev.jformers.core.Activation;
import dev.jformers.core.Backend;
import dev.jformers.core.Tensor;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.bert.BertConfig;
import dev.jformers.models.nn.Linear;

/** HF {@code RobertaClassificationHead} ({@code classifier}): out_proj(tanh(dense(h[:, 0]))), no pooler. */
final class RobertaClassificationHead {
    private final Backend backend;
    private final Linear dense;
    private final Linear outProj;
    private final Dropout dropout;

    RobertaClassificationHead(BertConfig config, ModelWeights w) {
        backend = w.backend();
        dense = Linear.load(w, "dense", config.hiddenSize(), config.hiddenSize());
        outProj = Linear.load(w, "out_proj", config.hiddenSize(), config.common().numLabels());
        dropout = Dropout.of(backend, config.common(), 0.1, "classifier_dropout", "hidden_dropout_prob");
    }

    /** [B, T, C] → logits [B, labels], from the {@code <s>} token. */
    Tensor forward(Tensor hidden) {
        Tensor x = backend.activation(dense.forward(dropout.forward(hidden.select(1, 0))), Activation.TANH);
        return outProj.forward(dropout.forward(x));
    }
}
