package dev.jformers.models;

import dev.jformers.core.Backend;
import dev.jformers.core.Tensor;

import java.util.List;

/**
 * What an encoder stack returns, on the backend.
 *
 * @param lastHiddenState [B, T, C]
 * @param hiddenStates    the embedding output then each layer's output (empty unless asked for)
 * @param attentions      each layer's probabilities [B, heads, T, T] (empty unless asked for)
 */
public record EncoderOutput(Tensor lastHiddenState, List<Tensor> hiddenStates, List<Tensor> attentions) {

    /** Adds {@code hidden_states} and {@code attentions}, stacked, when present. */
    public ModelOutput addTo(ModelOutput out, Backend backend) {
        if (!hiddenStates.isEmpty()) {
            out.put("hidden_states", Tensors.stack(backend, hiddenStates));
        }
        if (!attentions.isEmpty()) {
            out.put("attentions", Tensors.stack(backend, attentions));
        }
        return out;
    }
}
