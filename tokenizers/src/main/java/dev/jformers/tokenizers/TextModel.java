package dev.jformers.tokenizers;

import java.util.List;

/**
 * Everything between the added-token split and the post-processor: normalizer, pre-tokenizer and model
 * (WordPiece or byte-level BPE), and the matching decoder.
 */
interface TextModel {
    /** Tokenizes {@code text[start, end)} (which holds no added token) and appends the tokens to {@code out}. */
    void encode(String text, int start, int end, TokenSink out);

    /** The model's vocabulary (without added tokens). */
    Vocab vocab();

    /** HF's {@code convert_tokens_to_string}: joins model tokens back into text. */
    String tokensToString(List<String> tokens);

    /** The unknown token's id, or -1. */
    int unkId();
}
