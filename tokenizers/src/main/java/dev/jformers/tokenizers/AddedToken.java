package dev.jformers.tokenizers;

/**
 * A token matched in the raw text before the model runs (HF's AddedToken): special tokens such as [MASK] or
 * {@code <|endoftext|>}, and tokens added to a vocabulary.
 *
 * @param content    the token's text
 * @param id         its id
 * @param special    a special token (skipped by {@code decode(ids, skipSpecialTokens=true)})
 * @param lstrip     the token absorbs the whitespace before it (RoBERTa's {@code <mask>})
 * @param rstrip     the token absorbs the whitespace after it
 * @param singleWord matched only when not inside a word
 * @param normalized HF matches it on normalized text; here it is recorded only (matching is on the raw text)
 */
public record AddedToken(String content, int id, boolean special, boolean lstrip, boolean rstrip, boolean singleWord,
                         boolean normalized) {
    public AddedToken {
        if (content == null || content.isEmpty()) throw new TokenizerException("an added token needs some text");
    }
}
