package dev.jformers.models;

import dev.jformers.core.Tensor;

/**
 * Implemented by a backend that trains: it learns, as the model is built, the checkpoint name of each
 * weight it is handed, so that gradients, the optimizer and {@code save_pretrained} speak Hugging Face's
 * names. {@link ModelWeights} and the modules in {@code nn} tell it; an inference backend never hears of it.
 */
public interface ParameterRegistry {
    /** {@code weight} (a checkpoint tensor about to be uploaded or prepared) is the parameter {@code name}. */
    void name(Tensor weight, String name);

    /** Rows [start, start + rows) of {@code fused} (made by concatenating weights) are the parameter {@code name}. */
    void nameRows(Tensor fused, int start, int rows, String name);

    /** Rows {@code index} of the embedding table {@code uploadedTable} gets no gradient (PyTorch's padding_idx). */
    void paddingIdx(Tensor uploadedTable, int index);
}
