package dev.jformers.tokenizers;

import java.util.List;
import java.util.Map;

/**
 * A Hugging Face compatible tokenizer: text to ids (with offsets, masks, truncation, padding) and back.
 *
 * <p>Get one with {@link AutoTokenizer#fromPretrained(String)}. Implementations are immutable and
 * thread-safe, and hold nothing but heap memory: {@link #close()} does nothing and exists so that a tokenizer can
 * sit in a try-with-resources block beside its model. Ids, tokens and decoded text equal HF transformers' (slow and fast tokenizers agree on them for
 * BERT, RoBERTa and GPT-2); offsets, word ids and overflowing windows are those of HF's fast tokenizers.
 */
public interface Tokenizer extends AutoCloseable {

    /** Nothing to release (a tokenizer is heap memory only); here for try-with-resources. */
    @Override
    default void close() {
    }

    /** Encodes one text with special tokens, no truncation, no padding. */
    default Encoding encode(String text) {
        return encode(text, null, EncodeOptions.defaults());
    }

    /** Encodes a text pair (NSP, QA: question, context) with special tokens. */
    default Encoding encode(String text, String pair) {
        return encode(text, pair, EncodeOptions.defaults());
    }

    default Encoding encode(String text, EncodeOptions options) {
        return encode(text, null, options);
    }

    /**
     * Encodes a text or a text pair.
     *
     * @param pair the second sequence, or null
     * @throws TokenizerException on null text or impossible truncation (e.g. max length below the special tokens)
     */
    Encoding encode(String text, String pair, EncodeOptions options);

    /** Encodes several texts; {@link PaddingStrategy#LONGEST} pads them to the longest of the batch. */
    default List<Encoding> encodeBatch(List<String> texts, EncodeOptions options) {
        return encodeBatch(texts, null, options);
    }

    /**
     * HF's {@code tokenizer(texts, padding=..., truncation=..., max_length=...)}: {@code padding} pads every
     * encoding to the longest of the batch (attention mask 0 on the padding), {@code truncation} cuts each at
     * {@code maxLength} (null: the model's maximum length), special tokens included.
     */
    default List<Encoding> encodeBatch(List<String> texts, boolean padding, boolean truncation, Integer maxLength) {
        EncodeOptions o = EncodeOptions.defaults().withMaxLength(maxLength)
                .withPadding(padding ? PaddingStrategy.LONGEST : PaddingStrategy.DO_NOT_PAD);
        if (truncation) {
            o = o.withTruncation(TruncationStrategy.LONGEST_FIRST);
        }
        return encodeBatch(texts, o);
    }

    /**
     * Encodes several texts or text pairs.
     *
     * @param pairs null, or one second sequence per text
     */
    List<Encoding> encodeBatch(List<String> texts, List<String> pairs, EncodeOptions options);

    /** The tokens of a text, without special tokens (HF's {@code tokenize}). */
    List<String> tokenize(String text);

    /** Ids back to text, HF's {@code decode} with its default clean-up of tokenization spaces. */
    String decode(int[] ids, boolean skipSpecialTokens);

    /** Ids back to text, choosing HF's {@code clean_up_tokenization_spaces}. */
    String decode(int[] ids, boolean skipSpecialTokens, boolean cleanUpTokenizationSpaces);

    /** Decodes each row ({@code batch_decode}). */
    default List<String> decodeBatch(List<int[]> rows, boolean skipSpecialTokens) {
        return rows.stream().map(r -> decode(r, skipSpecialTokens)).toList();
    }

    /** Token strings of ids; unknown ids raise {@link TokenizerException}. */
    List<String> convertIdsToTokens(int[] ids, boolean skipSpecialTokens);

    /** Ids of tokens; tokens outside the vocabulary map to the unknown token's id (HF's convert_tokens_to_ids). */
    int[] convertTokensToIds(List<String> tokens);

    /** Id of a token (added tokens included), or -1 when the vocabulary has no such token. */
    int tokenToId(String token);

    /** Token of an id, or null. */
    String idToToken(int id);

    /** HF's {@code vocab_size}: the model vocabulary without added tokens. */
    int vocabSize();

    /** HF's {@code len(tokenizer)}: vocabulary plus added tokens. */
    int size();

    /** The whole vocabulary, added tokens included (HF's {@code get_vocab()}). */
    Map<String, Integer> vocab();

    /** HF's {@code model_max_length}; {@link Integer#MAX_VALUE} when the files do not say. */
    int modelMaxLength();

    /** Number of special tokens {@code encode} adds to one sequence or a pair. */
    int numSpecialTokensToAdd(boolean pair);

    /** A special token by HF's name ("cls_token", "sep_token", "pad_token", "mask_token", "unk_token",
     *  "bos_token", "eos_token"), or null. */
    String specialToken(String role);

    /** All special tokens, distinct (HF's {@code all_special_tokens}). */
    List<String> allSpecialTokens();

    /** Ids of all special tokens (HF's {@code all_special_ids}). */
    int[] allSpecialIds();

    /** The tokens matched in raw text before the model (special and added tokens). */
    List<AddedToken> addedTokens();

    default String clsToken() { return specialToken("cls_token"); }
    default String sepToken() { return specialToken("sep_token"); }
    default String padToken() { return specialToken("pad_token"); }
    default String maskToken() { return specialToken("mask_token"); }
    default String unkToken() { return specialToken("unk_token"); }
    default String bosToken() { return specialToken("bos_token"); }
    default String eosToken() { return specialToken("eos_token"); }

    /** Id of a special token role, or -1 when the tokenizer has none. */
    default int specialTokenId(String role) {
        String t = specialToken(role);
        return t == null ? -1 : tokenToId(t);
    }

    default int clsTokenId() { return specialTokenId("cls_token"); }
    default int sepTokenId() { return specialTokenId("sep_token"); }
    default int padTokenId() { return specialTokenId("pad_token"); }
    default int maskTokenId() { return specialTokenId("mask_token"); }
    default int unkTokenId() { return specialTokenId("unk_token"); }
    default int bosTokenId() { return specialTokenId("bos_token"); }
    default int eosTokenId() { return specialTokenId("eos_token"); }
}
