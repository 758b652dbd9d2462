package dev.jformers.models.nn;

import dev.jformers.core.Activation;
import dev.jformers.core.Backend;
import dev.jformers.core.LinearWeight;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;
import dev.jformers.models.ModelWeights;

/** {@code nn.Linear} (weight [out, in]) or GPT-2's {@code Conv1D} (weight [in, out]): x [..., in] → [..., out]. */
public final class Linear {
    private final Backend backend;
    private final LinearWeight weight;

    private Linear(Backend backend, LinearWeight weight) {
        this.backend = backend;
        this.weight = weight;
    }

    /** {@code nn.Linear(in, out)} read from {@code name.weight} [out, in] and {@code name.bias} [out]. */
    public static Linear load(ModelWeights w, String name, int in, int out) {
        return load(w, name, in, out, true);
    }

    public static Linear load(ModelWeights w, String name, int in, int out, boolean bias) {
        ModelWeights m = w.child(name);
        return new Linear(w.backend(), w.backend().prepareLinear(
                m.tensor("weight", out, in), bias ? m.tensor("bias", out) : null, WeightLayout.OUT_IN));
    }

    /**
     * Several {@code nn.Linear(in, out)} layers over the same input as one, their outputs side by
     * side ([..., k·out]): one matrix product instead of k (BERT's query, key and value).
     */
    public static Linear fused(ModelWeights w, int in, int out, String... names) {
        float[] weight = new float[names.length * out * in];
        float[] bias = new float[names.length * out];
        for (int i = 0; i < names.length; i++) {
            ModelWeights m = w.child(names[i]);
            System.arraycopy(m.tensor("weight", out, in).toFloatArray(), 0, weight, i * out * in, out * in);
            System.arraycopy(m.tensor("bias", out).toFloatArray(), 0, bias, i * out, out);
        }
        Tensor fusedWeight = Tensor.of(weight, names.length * out, in), fusedBias = Tensor.of(bias, names.length * out);
        for (int i = 0; i < names.length; i++) {   // training keeps HF's names: query.weight is rows [0, out) …
            w.nameRows(fusedWeight, i * out, out, names[i] + ".weight");
            w.nameRows(fusedBias, i * out, out, names[i] + ".bias");
        }
        return new Linear(w.backend(), w.backend().prepareLinear(fusedWeight, fusedBias, WeightLayout.OUT_IN));
    }

    /** GPT-2's {@code Conv1D(out, in)}: {@code name.weight} [in, out], y = x·W + b. */
    public static Linear conv1d(ModelWeights w, String name, int in, int out) {
        ModelWeights m = w.child(name);
        return new Linear(w.backend(), w.backend().prepareLinear(
                m.tensor("weight", in, out), m.tensor("bias", out), WeightLayout.IN_OUT));
    }

    /** A linear layer over a weight already in hand (tied embeddings): weight [out, in]. */
    public static Linear of(Backend backend, Tensor weight, Tensor bias) {
        return new Linear(backend, backend.prepareLinear(weight, bias, WeightLayout.OUT_IN));
    }

    public Tensor forward(Tensor x) {
        return backend.linear(x, weight);
    }

    /** activation(forward(x)), which the backend may fuse into the product. */
    public Tensor forward(Tensor x, Activation activation) {
        return backend.linear(x, weight, activation);
    }

    /** The prepared weight (for a backend call that fuses this layer with what follows it). */
    LinearWeight weight() {
        return weight;
    }

    public int inFeatures() {
        return weight.inFeatures();
    }

    public int outFeatures() {
        return weight.outFeatures();
    }
}
