package dev.jformers.models.nn;

import dev.jformers.core.Backend;
import dev.jformers.core.Tensor;
import dev.jformers.models.ModelWeights;

/** {@code nn.LayerNorm(size, eps)} over the last dimension; weight and bias [size]. */
public final class LayerNorm {
    private final Backend backend;
    private final Tensor weight;
    private final Tensor bias;
    private final float eps;

    /** Reads {@code name.weight} and {@code name.bias}. */
    public LayerNorm(ModelWeights w, String name, int size, double eps) {
        ModelWeights m = w.child(name);
        this.backend = w.backend();
        this.weight = m.upload("weight", size);
        this.bias = m.upload("bias", size);
        this.eps = (float) eps;
    }

    public Tensor forward(Tensor x) {
        return backend.layerNorm(x, weight, bias, eps);
    }

    /** forward(x + residual): the post-LayerNorm residual step, which the backend may fuse. */
    public Tensor forward(Tensor x, Tensor residual) {
        return backend.addLayerNorm(x, residual, weight, bias, eps);
    }

    /**
     * forward(dropout(dense(x)) + residual): BERT's BertSelfOutput / BertOutput, dense layer, dropout, residual and
     * LayerNorm in one backend call, which the backend may fuse (the CPU backend normalizes in the product's epilogue).
     */
    public Tensor forward(Linear dense, Dropout dropout, Tensor x, Tensor residual) {
        return backend.linearAddLayerNorm(x, dense.weight(), dropout.p(), residual, weight, bias, eps);
    }

    /** forward(dense(x) + residual), with no dropout between (DistilBERT's attention output): one backend call. */
    public Tensor forward(Linear dense, Tensor x, Tensor residual) {
        return backend.linearAddLayerNorm(x, dense.weight(), 0f, residual, weight, bias, eps);
    }
}
