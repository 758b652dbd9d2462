package dev.jformers.models.distilbert;

import dev.jformers.models.nn.Dropout;
import dev.jformers.core.Activation;
import dev.jformers.core.Backend;
import dev.jformers.core.Tensor;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.nn.Linear;

/** DistilBERT's sentence head: classifier(ReLU(pre_classifier(h[:, 0]))). */
final class DistilBertClassifier {
    private final Backend backend;
    private final Linear preClassifier;
    private final Linear classifier;
    private final Dropout dropout;

    DistilBertClassifier(DistilBertConfig config, ModelWeights w, int outputs) {
        backend = w.backend();
        preClassifier = Linear.load(w, "pre_classifier", config.dim(), config.dim());
        classifier = Linear.load(w, "classifier", config.dim(), outputs);
        dropout = Dropout.of(backend, config.common(), 0.2, "seq_classif_dropout");
    }

    /** [B, T, dim] → [B, outputs]. */
    Tensor forward(Tensor hidden) {
        Tensor pooled = backend.activation(preClassifier.forward(hidden.select(1, 0)), Activation.RELU);
        return classifier.forward(dropout.forward(pooled));
    }
}
