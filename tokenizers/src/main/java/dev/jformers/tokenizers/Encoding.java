package dev.jformers.tokenizers;

import java.util.AbstractList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The result of encoding one text (or text pair): what HF's fast tokenizers return as a {@code BatchEncoding} row.
 *
 * <p>All arrays have {@link #length()} entries, one per token, padding included. Array getters return copies.
 * Offsets are UTF-16 indices into the original text ({@code text.substring(start, end)} is the token's text),
 * (0, 0) for special tokens added by the post-processor and for padding. HF (Python) counts code points instead;
 * they differ only after a character outside the BMP (emoji…): see {@link #codePointOffsets(String)}.
 */
public final class Encoding {
    private final int[] ids;
    private final int[] typeIds;
    private final int[] attentionMask;
    private final int[] specialTokensMask;
    private final int[] starts;
    private final int[] ends;
    private final int[] wordIds;
    private final int[] sequenceIds;
    private final IntFunction<String> idToToken;
    private final List<Encoding> overflowing;

    Encoding(int[] ids, int[] typeIds, int[] attentionMask, int[] specialTokensMask, int[] starts, int[] ends,
             int[] wordIds, int[] sequenceIds, IntFunction<String> idToToken, List<Encoding> overflowing) {
        this.ids = ids;
        this.typeIds = typeIds;
        this.attentionMask = attentionMask;
        this.specialTokensMask = specialTokensMask;
        this.starts = starts;
        this.ends = ends;
        this.wordIds = wordIds;
        this.sequenceIds = sequenceIds;
        this.idToToken = idToToken;
        this.overflowing = List.copyOf(overflowing);
    }

    /** Number of tokens (padding included). */
    public int length() {
        return ids.length;
    }

    /** Token ids ({@code input_ids}). */
    public int[] ids() {
        return ids.clone();
    }

    /** Token strings, as HF's {@code encoding.tokens} (e.g. "##ing", "Ġworld", "[CLS]", "[PAD]"). */
    public List<String> tokens() {
        return new AbstractList<>() {
            @Override public String get(int i) { return idToToken.apply(ids[i]); }
            @Override public int size() { return ids.length; }
        };
    }

    /** Segment ids ({@code token_type_ids}): 0 for the first sequence, 1 for the second (BERT); 0 for padding. */
    public int[] typeIds() {
        return typeIds.clone();
    }

    /** 1 for real tokens, 0 for padding. */
    public int[] attentionMask() {
        return attentionMask.clone();
    }

    /** 1 for special tokens added by the post-processor and for padding, 0 for tokens of the text. */
    public int[] specialTokensMask() {
        return specialTokensMask.clone();
    }

    /** Start offset (UTF-16 index, inclusive) of each token in the original text of its sequence. */
    public int[] startOffsets() {
        return starts.clone();
    }

    /** End offset (UTF-16 index, exclusive) of each token in the original text of its sequence. */
    public int[] endOffsets() {
        return ends.clone();
    }

    /** {@code offset_mapping}: [length][2] (start, end) pairs, UTF-16 indices. */
    public int[][] offsets() {
        int[][] out = new int[ids.length][];
        for (int i = 0; i < ids.length; i++) out[i] = new int[] {starts[i], ends[i]};
        return out;
    }

    /**
     * Offsets counted in code points, as HF's Python fast tokenizers report them.
     *
     * @param originalText the text of the sequence the offsets refer to (for a pair, pass the text of each
     *                     token's {@link #sequenceIds() sequence}: use {@link #codePointOffsets(String, String)})
     */
    public int[][] codePointOffsets(String originalText) {
        return codePointOffsets(originalText, originalText);
    }

    /** Offsets in code points for a pair encoding: tokens of sequence 1 are measured in {@code second}. */
    public int[][] codePointOffsets(String first, String second) {
        int[][] out = new int[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            String t = sequenceIds[i] == 1 ? second : first;
            if (t == null || (starts[i] == 0 && ends[i] == 0)) {
                out[i] = new int[] {starts[i], ends[i]};
            } else {
                out[i] = new int[] {t.codePointCount(0, starts[i]), t.codePointCount(0, ends[i])};
            }
        }
        return out;
    }

    /** Index of the word (pre-token) each token comes from, within its sequence; -1 for special tokens and padding. */
    public int[] wordIds() {
        return wordIds.clone();
    }

    /** Which sequence each token belongs to: 0 or 1; -1 for special tokens and padding (HF's None). */
    public int[] sequenceIds() {
        return sequenceIds.clone();
    }

    /** Further windows when truncation kept the overflowing tokens ({@code return_overflowing_tokens=True}). */
    public List<Encoding> overflowing() {
        return overflowing;
    }

    @Override
    public String toString() {
        return "Encoding" + Arrays.toString(ids) + (overflowing.isEmpty() ? "" : " +" + overflowing.size() + " windows");
    }

    // package-private raw access for the implementation (no copies)
    int[] rawIds() { return ids; }
    int[] rawTypeIds() { return typeIds; }
    int[] rawAttentionMask() { return attentionMask; }
    int[] rawSpecialTokensMask() { return specialTokensMask; }
    int[] rawStarts() { return starts; }
    int[] rawEnds() { return ends; }
    int[] rawWordIds() { return wordIds; }
    int[] rawSequenceIds() { return sequenceIds; }
    IntFunction<String> idToTokenFunction() { return idToToken; }
}
