package dev.jformers.tokenizers;

/** Hugging Face's padding strategies (the {@code padding=} argument). */
public enum PaddingStrategy {
    /** No padding. */
    DO_NOT_PAD,
    /** Pad to the longest encoding of the batch (overflowing windows included). */
    LONGEST,
    /** Pad to {@link EncodeOptions#maxLength()} (or the model's maximum length when it is not set). */
    MAX_LENGTH
}
