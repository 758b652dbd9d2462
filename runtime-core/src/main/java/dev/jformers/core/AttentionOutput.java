package dev.jformers.core;

/**
 * @param context [B, Tq, heads·d]: attention-weighted values, heads concatenated
 * @param probs   [B, heads, Tq, Tk]: softmax probabilities, or null when not asked for
 */
public record AttentionOutput(Tensor context, Tensor probs) {
}
