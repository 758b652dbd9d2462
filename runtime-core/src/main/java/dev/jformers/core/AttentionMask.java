package dev.jformers.core;

/**
 * Which keys each query may attend to.
 *
 * @param keyPadding [B, Tk] with 1 for real tokens and 0 for padding (any dtype), or null for none.
 *                   Masked keys get float32.min added to their scores, as Hugging Face does.
 * @param causal     query i (at absolute position Tk − Tq + i) sees only keys at positions ≤ its own;
 *                   the others are set to float32.min before the padding mask is added (HF GPT-2).
 */
public record AttentionMask(Tensor keyPadding, boolean causal) {
    public static final AttentionMask NONE = new AttentionMask(null, false);

    public static AttentionMask padding(Tensor keyPadding) {
        return new AttentionMask(keyPadding, false);
    }

    public static AttentionMask causal(Tensor keyPadding) {
        return new AttentionMask(keyPadding, true);
    }
}
