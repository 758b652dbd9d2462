package dev.jformers.models;

import dev.jformers.core.Tensor;

/**
 * A model that predicts the next token from the ones before it, with a KV cache — what HF's
 * {@code generate} needs of a decoder-only model: GPT-2, and BERT / RoBERTa with {@code is_decoder}
 * (causal self-attention). {@link dev.jformers.models.generation.Generator} drives every one of them
 * with the same loop; beam search reorders the cache by index ({@link KVCache#reorder}).
 */
public interface CausalLM extends PreTrainedModel {

    /** An empty cache for {@code batch} rows of up to {@code capacity} positions. */
    KVCache newCache(int batch, int capacity);

    /**
     * One decoding step, as HF's {@code prepare_inputs_for_generation} + forward: runs the new tokens through the
     * cached model (each architecture derives its position ids the way HF does) and returns the logits of the last
     * position.
     *
     * @param inputIds      the new tokens [B, T] (the whole prompt at the first step, then one token)
     * @param attentionMask [B, past + T]: 1 for tokens, 0 for (left) padding
     * @return [B, vocab] on the host, a tensor of its own each call: the generator hands it back to the backend
     *         ({@link dev.jformers.core.Backend#recycle}) once read, so that decoding allocates no logits per token
     */
    Tensor nextTokenLogits(Tensor inputIds, Tensor attentionMask, KVCache cache);

    /** The longest sequence the position embeddings allow (n_positions / max_position_embeddings, less RoBERTa's offset). */
    int maxPositions();
}
