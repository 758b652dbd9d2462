package dev.jformers.models.gpt2;

import dev.jformers.core.Backend;
import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;

/**
 * Keys and values of every layer for the tokens seen so far, so that each generation step only
 * computes the new token: per layer two buffers [B, capacity, C] on the backend, of which the
 * first {@link #length()} positions are filled. One cache belongs to one generation call.
 */
public final class KVCache {
    private final Backend backend;
    private final Tensor[] keys;
    private final Tensor[] values;
    private final int capacity;
    private int length;

    public KVCache(Backend backend, GPT2Config config, int batch, int capacity) {
        if (capacity > config.nPositions()) {
            throw new JformersException("a KV cache of " + capacity + " positions exceeds the model's n_positions "
                    + config.nPositions());
        }
        this.backend = backend;
        this.capacity = capacity;
        keys = new Tensor[config.nLayer()];
        values = new Tensor[config.nLayer()];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = backend.zeros(batch, capacity, config.nEmbd());
            values[i] = backend.zeros(batch, capacity, config.nEmbd());
        }
    }

    /** Positions already cached (the past length). */
    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    /**
     * Stores layer {@code layer}'s new keys/values [B, T, C] after the cached ones and returns views
     * of all of them [B, length + T, C].
     */
    Tensor[] append(int layer, Tensor k, Tensor v) {
        int t = k.dim(1);
        if (length + t > capacity) {
            throw new JformersException("KV cache full: " + length + " + " + t + " positions > capacity " + capacity);
        }
        backend.copyInto(k, keys[layer].narrow(1, length, t));
        backend.copyInto(v, values[layer].narrow(1, length, t));
        return new Tensor[] {keys[layer].narrow(1, 0, length + t), values[layer].narrow(1, 0, length + t)};
    }

    /** Called once per forward pass, after every layer has appended {@code t} positions. */
    void advance(int t) {
        length += t;
    }
}
