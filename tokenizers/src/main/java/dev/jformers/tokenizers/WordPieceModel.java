package dev.jformers.tokenizers;

import java.util.List;
import java.util.Set;

/**
 * BERT's tokenization: the basic tokenizer (HF's BertNormalizer + BertPreTokenizer) followed by greedy
 * longest-match-first WordPiece.
 *
 * <p>Normalization is done one code point at a time, remembering for every normalized char the span of the
 * original char it came from, so that each word piece gets its span in the original text (as HF's fast
 * tokenizer reports it) even after lower-casing and accent stripping.
 */
final class WordPieceModel implements TextModel {

    /**
     * Options of the basic tokenizer (HF's BasicTokenizer / BertNormalizer).
     *
     * @param basicTokenize      false: only split on whitespace before WordPiece ({@code do_basic_tokenize})
     * @param cleanText          drop control chars, NUL and U+FFFD; map whitespace to a space
     * @param handleChineseChars put spaces around CJK ideographs ({@code tokenize_chinese_chars})
     * @param lowercase          lower-case ({@code do_lower_case})
     * @param stripAccents       null: same as lowercase (HF's default)
     * @param neverSplit         words kept whole, neither lower-cased nor split (slow tokenizer's never_split)
     */
    record BasicOptions(boolean basicTokenize, boolean cleanText, boolean handleChineseChars, boolean lowercase,
                        Boolean stripAccents, Set<String> neverSplit) {
        boolean strip() {
            return stripAccents == null ? lowercase : stripAccents;
        }
    }

    private final Vocab vocab;
    private final String prefix;
    private final int maxInputCharsPerWord;
    private final int unkId;
    private final BasicOptions options;
    private final boolean strip;

    WordPieceModel(Vocab vocab, String unkToken, String continuingSubwordPrefix, int maxInputCharsPerWord,
                   BasicOptions options) {
        this.vocab = vocab;
        this.prefix = continuingSubwordPrefix == null ? "##" : continuingSubwordPrefix;
        this.maxInputCharsPerWord = maxInputCharsPerWord;
        this.unkId = unkToken == null ? -1 : vocab.id(unkToken);
        this.options = options;
        this.strip = options.strip();
    }

    @Override
    public Vocab vocab() {
        return vocab;
    }

    @Override
    public int unkId() {
        return unkId;
    }

    /** HF's WordPiece convert_tokens_to_string: join with spaces, glue "##" pieces, strip. */
    @Override
    public String tokensToString(List<String> tokens) {
        String joined = String.join(" ", tokens);
        return joined.replace(" " + prefix, "").strip();
    }

    /** Per-call scratch space: the current raw word (code points and their original positions). */
    private static final class Scratch {
        int[] cps = new int[64];
        int[] pos = new int[64];
        int n;
        final StringBuilder norm = new StringBuilder(64);
        int[] nStart = new int[64];
        int[] nEnd = new int[64];

        void push(int cp, int at) {
            if (n == cps.length) {
                cps = java.util.Arrays.copyOf(cps, n * 2);
                pos = java.util.Arrays.copyOf(pos, n * 2);
            }
            cps[n] = cp;
            pos[n] = at;
            n++;
        }

        void pushNorm(char c, int s, int e) {
            int k = norm.length();
            if (k == nStart.length) {
                nStart = java.util.Arrays.copyOf(nStart, k * 2);
                nEnd = java.util.Arrays.copyOf(nEnd, k * 2);
            }
            norm.append(c);
            nStart[k] = s;
            nEnd[k] = e;
        }
    }

    @Override
    public void encode(String text, int start, int end, TokenSink out) {
        Scratch w = new Scratch();
        int i = start;
        while (i < end) {
            int cp = text.codePointAt(i);
            int at = i;
            i += Character.charCount(cp);
            if (cp > 0xFFFF && i > end) i = end; // never read past the segment
            boolean basic = options.basicTokenize();
            if (basic && options.cleanText() && (cp == 0 || cp == 0xFFFD || UnicodeTables.isBertControl(cp))) {
                continue; // dropped, the word goes on ("zero\u200bwidth" is one word)
            }
            // BERT's whitespace (space, \t, \n, \r, Zs) is part of White_Space, which is what splits words
            if (UnicodeTables.isWhiteSpaceProperty(cp)) {
                flushWord(text, w, out);
                continue;
            }
            if (basic && options.handleChineseChars() && UnicodeTables.isChineseChar(cp)) {
                flushWord(text, w, out);
                w.push(cp, at);
                flushWord(text, w, out);
                continue;
            }
            w.push(cp, at);
        }
        flushWord(text, w, out);
    }

    /** A whitespace-delimited word is complete: normalize it, split off punctuation, run WordPiece on the parts. */
    private void flushWord(String text, Scratch w, TokenSink out) {
        if (w.n == 0) return;
        int n = w.n;
        w.n = 0;
        int wordStart = w.pos[0];
        int wordEnd = w.pos[n - 1] + Character.charCount(w.cps[n - 1]);
        if (!options.basicTokenize()) {
            out.newWord();
            String word = text.substring(wordStart, wordEnd);
            int[][] spans = identityStarts(wordStart, wordEnd);
            wordPiece(word, spans[0], spans[1], out, 0, word.length());
            return;
        }
        if (!options.neverSplit().isEmpty()) {
            StringBuilder raw = new StringBuilder();
            for (int k = 0; k < n; k++) raw.appendCodePoint(w.cps[k]);
            String word = raw.toString();
            if (options.neverSplit().contains(word)) {
                out.newWord();
                int id = vocab.id(word);
                out.add(id >= 0 ? id : requireUnk(), wordStart, wordEnd);
                return;
            }
        }
        // normalize, keeping the original span of every normalized char
        StringBuilder norm = w.norm;
        norm.setLength(0);
        for (int k = 0; k < n; k++) {
            int cp = w.cps[k];
            int s = w.pos[k];
            int e = s + Character.charCount(cp);
            if (cp < 0x80 && !(options.lowercase() && cp >= 'A' && cp <= 'Z')) {
                w.pushNorm((char) cp, s, e);
                continue;
            }
            String t = options.lowercase() ? UnicodeTables.lower(cp) : Character.toString(cp);
            if (strip) {
                for (int q = 0; q < t.length(); ) {
                    int c2 = t.codePointAt(q);
                    q += Character.charCount(c2);
                    String d = UnicodeTables.nfd(c2);
                    for (int r = 0; r < d.length(); ) {
                        int c3 = d.codePointAt(r);
                        r += Character.charCount(c3);
                        if (Character.getType(c3) == Character.NON_SPACING_MARK) continue;
                        appendCp(w, c3, s, e);
                    }
                }
            } else {
                for (int q = 0; q < t.length(); q++) w.pushNorm(t.charAt(q), s, e);
            }
        }
        // split on punctuation: every punctuation char is a word of its own
        int len = norm.length();
        int runStart = 0;
        int q = 0;
        while (q < len) {
            int cp = norm.codePointAt(q);
            int cl = Character.charCount(cp);
            if (UnicodeTables.isBertPunctuation(cp)) {
                if (q > runStart) {
                    out.newWord();
                    wordPiece(norm, w.nStart, w.nEnd, out, runStart, q);
                }
                out.newWord();
                wordPiece(norm, w.nStart, w.nEnd, out, q, q + cl);
                runStart = q + cl;
            }
            q += cl;
        }
        if (len > runStart) {
            out.newWord();
            wordPiece(norm, w.nStart, w.nEnd, out, runStart, len);
        }
    }

    private static void appendCp(Scratch w, int cp, int s, int e) {
        if (cp < 0x10000) {
            w.pushNorm((char) cp, s, e);
        } else {
            w.pushNorm(Character.highSurrogate(cp), s, e);
            w.pushNorm(Character.lowSurrogate(cp), s, e);
        }
    }

    private static int[][] identityStarts(int from, int to) {
        int[] s = new int[to - from];
        int[] e = new int[to - from];
        for (int k = 0; k < s.length; k++) {
            s[k] = from + k;
            e[k] = from + k + 1;
        }
        return new int[][] {s, e};
    }

    /**
     * Greedy longest-match-first WordPiece on {@code word[from, to)}; a word with a piece that is not in the
     * vocabulary, or longer than max_input_chars_per_word code points, becomes one [UNK].
     */
    private void wordPiece(CharSequence word, int[] nStart, int[] nEnd, TokenSink out, int from, int to) {
        int origStart = nStart[from];
        int origEnd = nEnd[to - 1];
        if (Character.codePointCount(word, from, to) > maxInputCharsPerWord) {
            out.add(requireUnk(), origStart, origEnd);
            return;
        }
        int mark = out.size;
        int maxLen = vocab.maxTokenLength();
        int s = from;
        StringBuilder cand = new StringBuilder(prefix.length() + (to - from));
        while (s < to) {
            int e = Math.min(to, s + maxLen);
            if (e < to && Character.isLowSurrogate(word.charAt(e)) && e - 1 > s) e--;
            int found = -1;
            while (e > s) {
                cand.setLength(0);
                if (s > from) cand.append(prefix);
                cand.append(word, s, e);
                int id = vocab.id(cand.toString());
                if (id >= 0) {
                    found = id;
                    break;
                }
                e -= (e - 2 >= s && Character.isLowSurrogate(word.charAt(e - 1))
                        && Character.isHighSurrogate(word.charAt(e - 2))) ? 2 : 1;
            }
            if (found < 0) {
                out.size = mark; // the whole word is unknown
                out.add(requireUnk(), origStart, origEnd);
                return;
            }
            out.add(found, nStart[s], nEnd[e - 1]);
            s = e;
        }
    }

    private int requireUnk() {
        if (unkId < 0) throw new TokenizerException("WordPiece needs the unknown token, which is not in the vocabulary");
        return unkId;
    }
}
