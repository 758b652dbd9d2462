package dev.jformers.models;

import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A forward pass's results on the host, under Hugging Face's names: {@code last_hidden_state},
 * {@code pooler_output}, {@code logits}, {@code start_logits}, {@code end_logits},
 * {@code prediction_logits}, {@code seq_relationship_logits}, and when asked for
 * {@code hidden_states} [layers+1, B, T, C] and {@code attentions} [layers, B, heads, T, T].
 */
public final class ModelOutput {
    private final Map<String, Tensor> outputs = new LinkedHashMap<>();

    public ModelOutput put(String name, Tensor value) {
        if (value != null) {
            outputs.put(name, value);
        }
        return this;
    }

    /** The output called {@code name}; throws naming the ones present when absent. */
    public Tensor get(String name) {
        Tensor t = outputs.get(name);
        if (t == null) {
            throw new JformersException("no output '" + name + "' (this model gives " + outputs.keySet() + ")");
        }
        return t;
    }

    public boolean has(String name) {
        return outputs.containsKey(name);
    }

    public Tensor logits() {
        return get("logits");
    }

    public Tensor lastHiddenState() {
        return get("last_hidden_state");
    }

    /** All outputs in HF's order. */
    public Map<String, Tensor> asMap() {
        return Collections.unmodifiableMap(outputs);
    }
}
