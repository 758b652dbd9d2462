package dev.jformers.models;

import dev.jformers.core.Backend;
import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;

/**
 * Keys and values of every layer for the tokens seen so far, so that each generation step only
 * computes the new token: per layer two buffers [B, capacity, C] on the backend (the two halves of one
 * [2, B, capacity, C]), of which the first {@link #length()} positions are filled. One cache belongs to one
 * generation call, which hands its memory back at the end ({@link #release}); GPT-2 and the BERT-family decoders
 * ({@code is_decoder}) use the same layout.
 */
public final class KVCache {
    private final Backend backend;
    /** Per layer [2, B, capacity, C]: its keys, then its values. */
    private final Tensor[] buffers;
    private final Tensor[] keys;
    private final Tensor[] values;
    private final int batch;
    private final int width;
    private final int capacity;
    private int length;
    /** One [B, capacity, C] buffer shared by the layers while {@link #reorder} moves rows (made on first use). */
    private Tensor scratch;
    /** Set by {@link #release}: the buffers belong to the backend's pool again. */
    private boolean released;

    /**
     * @param layers   transformer layers
     * @param width    hidden size C (all heads side by side)
     * @param capacity positions the cache can hold (prompt + new tokens)
     */
    public KVCache(Backend backend, int layers, int batch, int width, int capacity) {
        this.backend = backend;
        this.batch = batch;
        this.width = width;
        this.capacity = capacity;
        buffers = new Tensor[layers];
        keys = new Tensor[layers];
        values = new Tensor[layers];
        for (int i = 0; i < layers; i++) {
            buffers[i] = backend.zeros(2, batch, capacity, width);
            keys[i] = buffers[i].select(0, 0);
            values[i] = buffers[i].select(0, 1);
        }
    }

    /**
     * Hands the cache's memory back to the backend ({@link Backend#recycle}), so that the next generation's cache
     * reuses it instead of allocating (GPT-2 124M at 160 positions: 11.8 MB a generation, which a decoding benchmark
     * allocated, zeroed and collected every 128 tokens, and whose fresh pages the kernel cleared). The cache and the
     * views it returned must not be used afterwards: append and reorder then throw, and a second release does nothing
     * (handing an array back twice would give it to two live tensors).
     */
    public void release() {
        if (released) {
            return;
        }
        released = true;
        for (Tensor b : buffers) {
            backend.recycle(b);
        }
        if (scratch != null) {
            backend.recycle(scratch);
            scratch = null;
        }
    }

    private void checkNotReleased() {
        if (released) {
            throw new IllegalStateException("KV cache used after release()");
        }
    }

    /** Positions already cached (the past length). */
    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    public int batch() {
        return batch;
    }

    /**
     * Stores layer {@code layer}'s new keys/values [B, T, C] after the cached ones and returns views
     * of all of them [B, length + T, C].
     */
    public Tensor[] append(int layer, Tensor k, Tensor v) {
        checkNotReleased();
        int t = k.dim(1);
        if (length + t > capacity) {
            throw new JformersException("KV cache full: " + length + " + " + t + " positions > capacity " + capacity);
        }
        backend.copyInto(k, keys[layer].narrow(1, length, t));
        backend.copyInto(v, values[layer].narrow(1, length, t));
        return new Tensor[] {keys[layer].narrow(1, 0, length + t), values[layer].narrow(1, 0, length + t)};
    }

    /** Called once per forward pass, after every layer has appended {@code t} positions. */
    public void advance(int t) {
        length += t;
    }

    /**
     * Beam search's {@code _reorder_cache}: row i afterwards holds what row {@code source[i]} held. Only the rows
     * whose source is another row are written, and only their filled positions (HF copies the whole cache with
     * index_select every step); a source row that is itself overwritten is saved in a scratch buffer first.
     */
    public void reorder(int[] source) {
        checkNotReleased();
        if (source.length != batch) {
            throw new IllegalArgumentException("reorder: " + source.length + " rows for a cache of " + batch);
        }
        boolean[] overwritten = new boolean[batch];
        boolean any = false;
        for (int i = 0; i < batch; i++) {
            overwritten[i] = source[i] != i;
            any |= overwritten[i];
        }
        if (!any || length == 0) {
            return;
        }
        boolean[] saved = new boolean[batch];   // sources that are overwritten themselves: read from scratch
        for (int i = 0; i < batch; i++) {
            if (overwritten[i] && overwritten[source[i]]) {
                saved[source[i]] = true;
            }
        }
        if (scratch == null) {
            scratch = backend.zeros(batch, capacity, width);
        }
        for (Tensor[] kv : new Tensor[][] {keys, values}) {
            for (Tensor layer : kv) {
                for (int s = 0; s < batch; s++) {
                    if (saved[s]) {
                        backend.copyInto(rows(layer, s), rows(scratch, s));
                    }
                }
                for (int i = 0; i < batch; i++) {
                    if (overwritten[i]) {
                        backend.copyInto(rows(saved[source[i]] ? scratch : layer, source[i]), rows(layer, i));
                    }
                }
            }
        }
    }

    /** Row {@code row}'s filled positions [1, length, C]. */
    private Tensor rows(Tensor buffer, int row) {
        return buffer.narrow(0, row, 1).narrow(1, 0, length);
    }
}
