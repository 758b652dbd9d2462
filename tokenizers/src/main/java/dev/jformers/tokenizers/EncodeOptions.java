package dev.jformers.tokenizers;

import java.util.Objects;

/**
 * How to encode: the arguments of Hugging Face's {@code tokenizer(text, pair, ...)} call.
 *
 * <p>Immutable; start from {@link #defaults()} and change what you need:
 * <pre>{@code
 * EncodeOptions qa = EncodeOptions.defaults()
 *     .withMaxLength(384).withTruncation(TruncationStrategy.ONLY_SECOND)
 *     .withStride(128).withReturnOverflowing(true).withPadding(PaddingStrategy.MAX_LENGTH);
 * }</pre>
 *
 * @param addSpecialTokens  add [CLS]/[SEP], {@code <s>}/{@code </s>}… as the tokenizer's post-processor says
 * @param maxLength         length limit for truncation / {@code MAX_LENGTH} padding, special tokens included;
 *                          {@code null}: the tokenizer's model_max_length
 * @param truncation        truncation strategy; {@code DO_NOT_TRUNCATE} ignores maxLength for truncation
 * @param stride            with overflowing windows: how many tokens consecutive windows share
 * @param padding           padding strategy
 * @param paddingSide       {@code null}: the tokenizer's default (right unless tokenizer_config says otherwise)
 * @param returnOverflowing keep the truncated-away tokens as further windows ({@link Encoding#overflowing()})
 */
public record EncodeOptions(boolean addSpecialTokens, Integer maxLength, TruncationStrategy truncation, int stride,
                            PaddingStrategy padding, Side paddingSide, boolean returnOverflowing) {

    private static final EncodeOptions DEFAULTS = new EncodeOptions(true, null, TruncationStrategy.DO_NOT_TRUNCATE, 0,
            PaddingStrategy.DO_NOT_PAD, null, false);

    public EncodeOptions {
        Objects.requireNonNull(truncation, "truncation");
        Objects.requireNonNull(padding, "padding");
        if (stride < 0) throw new TokenizerException("stride must be >= 0, got " + stride);
        if (maxLength != null && maxLength < 0) throw new TokenizerException("maxLength must be >= 0, got " + maxLength);
    }

    /** Special tokens added, no truncation, no padding: HF's {@code tokenizer(text)}. */
    public static EncodeOptions defaults() {
        return DEFAULTS;
    }

    public EncodeOptions withAddSpecialTokens(boolean v) {
        return new EncodeOptions(v, maxLength, truncation, stride, padding, paddingSide, returnOverflowing);
    }

    public EncodeOptions withMaxLength(Integer v) {
        return new EncodeOptions(addSpecialTokens, v, truncation, stride, padding, paddingSide, returnOverflowing);
    }

    public EncodeOptions withTruncation(TruncationStrategy v) {
        return new EncodeOptions(addSpecialTokens, maxLength, v, stride, padding, paddingSide, returnOverflowing);
    }

    /** Shorthand for HF's {@code truncation=True, max_length=n} (longest_first). */
    public EncodeOptions withTruncation(int maxLength) {
        return new EncodeOptions(addSpecialTokens, maxLength, TruncationStrategy.LONGEST_FIRST, stride, padding,
                paddingSide, returnOverflowing);
    }

    public EncodeOptions withStride(int v) {
        return new EncodeOptions(addSpecialTokens, maxLength, truncation, v, padding, paddingSide, returnOverflowing);
    }

    public EncodeOptions withPadding(PaddingStrategy v) {
        return new EncodeOptions(addSpecialTokens, maxLength, truncation, stride, v, paddingSide, returnOverflowing);
    }

    public EncodeOptions withPaddingSide(Side v) {
        return new EncodeOptions(addSpecialTokens, maxLength, truncation, stride, padding, v, returnOverflowing);
    }

    public EncodeOptions withReturnOverflowing(boolean v) {
        return new EncodeOptions(addSpecialTokens, maxLength, truncation, stride, padding, paddingSide, v);
    }
}
