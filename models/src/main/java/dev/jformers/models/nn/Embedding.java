package dev.jformers.models.nn;

import dev.jformers.core.Backend;
import dev.jformers.core.Tensor;
import dev.jformers.models.ModelWeights;

/** {@code nn.Embedding(rows, size)}: integer ids [...] → vectors [..., size]. */
public final class Embedding {
    private final Backend backend;
    private final Tensor weight;

    /** Reads {@code name.weight} [rows, size]. */
    public Embedding(ModelWeights w, String name, int rows, int size) {
        this(w, name, rows, size, null);
    }

    /** With PyTorch's {@code padding_idx}: that row gets no gradient in training (null: none). */
    public Embedding(ModelWeights w, String name, int rows, int size, Integer paddingIdx) {
        this.backend = w.backend();
        Tensor table = w.child(name).tensor("weight", rows, size);
        if (paddingIdx != null && paddingIdx >= 0 && paddingIdx < rows && w.child(name).wasInitialized(table)) {
            float[] values = table.toFloatArray();       // HF zeroes the padding row of a new table
            java.util.Arrays.fill(values, paddingIdx * size, (paddingIdx + 1) * size, 0f);
            table = Tensor.of(values, rows, size);
            w.child(name).nameAs(table, "weight");
        }
        this.weight = backend.upload(table);
        if (paddingIdx != null && paddingIdx >= 0 && paddingIdx < rows) {
            w.paddingIdx(weight, paddingIdx);
        }
    }

    public Tensor forward(Tensor ids) {
        return backend.embedding(weight, ids);
    }

    /** The table [rows, size], for output layers tied to it. */
    public Tensor weight() {
        return weight;
    }

    public int rows() {
        return weight.dim(0);
    }
}
