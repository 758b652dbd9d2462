package dev.jformers.tokenizers;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The tokenizer: added-token split, then the text model (WordPiece or byte-level BPE) on the plain text, then
 * truncation, the post-processor's special tokens and padding, in HF's order.
 */
public final class HfTokenizer implements Tokenizer {
    /** HF's order of special token roles (all_special_tokens). */
    static final List<String> ROLES = List.of("bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
            "cls_token", "mask_token");

    private final String kind;
    private final TextModel model;
    private final AddedVocabulary added;
    private final PostProcessor post;
    private final Map<String, String> specialTokens;
    private final List<String> additionalSpecialTokens;
    private final int modelMaxLength;
    private final Side paddingSide;
    private final boolean cleanUpTokenizationSpaces;
    private final int[] allSpecialIds;

    HfTokenizer(String kind, TextModel model, List<AddedToken> addedTokens, PostProcessor post,
                Map<String, String> specialTokens, List<String> additionalSpecialTokens, int modelMaxLength,
                Side paddingSide, boolean cleanUpTokenizationSpaces) {
        this.kind = kind;
        this.model = model;
        this.added = new AddedVocabulary(addedTokens);
        this.post = post;
        this.specialTokens = Collections.unmodifiableMap(new LinkedHashMap<>(specialTokens));
        this.additionalSpecialTokens = List.copyOf(additionalSpecialTokens);
        this.modelMaxLength = modelMaxLength;
        this.paddingSide = paddingSide == null ? Side.RIGHT : paddingSide;
        this.cleanUpTokenizationSpaces = cleanUpTokenizationSpaces;
        LinkedHashSet<Integer> ids = new LinkedHashSet<>();
        for (String t : allSpecialTokens()) {
            int id = tokenToId(t);
            if (id >= 0) ids.add(id);
        }
        this.allSpecialIds = ids.stream().mapToInt(Integer::intValue).toArray();
    }

    TextModel model() {
        return model;
    }

    /** What kind of tokenizer this is, e.g. "BertTokenizer (WordPiece)". */
    public String kind() {
        return kind;
    }

    @Override
    public String toString() {
        return "HfTokenizer[" + kind + ", vocab " + vocabSize() + ", max length " + modelMaxLength + "]";
    }

    // ---------------------------------------------------------------- encoding

    /** Tokens of one sequence before post-processing. */
    private record Seq(int[] ids, int[] starts, int[] ends, int[] words) {
        int length() {
            return ids.length;
        }
    }

    private Seq encodeSequence(String text) {
        if (text == null) throw new TokenizerException("text is null");
        TokenSink sink = new TokenSink();
        for (AddedVocabulary.Segment seg : added.split(text)) {
            if (seg.token() != null) {
                sink.newWord();
                sink.add(seg.token().id(), seg.start(), seg.end());
            } else {
                model.encode(text, seg.start(), seg.end(), sink);
            }
        }
        int n = sink.size;
        return new Seq(Arrays.copyOf(sink.ids, n), Arrays.copyOf(sink.starts, n), Arrays.copyOf(sink.ends, n),
                Arrays.copyOf(sink.words, n));
    }

    @Override
    public List<String> tokenize(String text) {
        Seq s = encodeSequence(text);
        List<String> out = new ArrayList<>(s.length());
        for (int id : s.ids()) out.add(idToTokenOrUnk(id));
        return out;
    }

    @Override
    public Encoding encode(String text, String pair, EncodeOptions options) {
        Objects.requireNonNull(options, "options");
        Encoding e = encodeUnpadded(text, pair, options);
        int target = paddingTarget(options, List.of(e));
        return target < 0 ? e : pad(e, target, options);
    }

    @Override
    public List<Encoding> encodeBatch(List<String> texts, List<String> pairs, EncodeOptions options) {
        Objects.requireNonNull(texts, "texts");
        Objects.requireNonNull(options, "options");
        if (pairs != null && pairs.size() != texts.size()) {
            throw new TokenizerException("got " + texts.size() + " texts but " + pairs.size() + " pairs");
        }
        List<Encoding> out = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            out.add(encodeUnpadded(texts.get(i), pairs == null ? null : pairs.get(i), options));
        }
        int target = paddingTarget(options, out);
        if (target >= 0) out.replaceAll(e -> pad(e, target, options));
        return out;
    }

    private Encoding encodeUnpadded(String text, String pair, EncodeOptions o) {
        Seq a = encodeSequence(text);
        Seq b = pair == null ? null : encodeSequence(pair);
        boolean isPair = b != null;
        int nAdded = o.addSpecialTokens() ? post.added(isPair) : 0;
        int lenA = a.length();
        int lenB = isPair ? b.length() : 0;
        int keepA = lenA;
        int keepB = lenB;
        if (o.truncation() != TruncationStrategy.DO_NOT_TRUNCATE) {
            int maxLen = maxLength(o);
            int total = lenA + lenB + nAdded;
            if (total > maxLen) {
                int budget = maxLen - nAdded;
                if (budget < 0) {
                    throw new TokenizerException("max length " + maxLen + " is below the " + nAdded
                            + " special tokens");
                }
                switch (o.truncation()) {
                    case LONGEST_FIRST -> {
                        if (!isPair) {
                            keepA = budget;
                        } else {
                            // HF: remove one token at a time from the longer sequence, from the second on ties
                            int toRemove = total - maxLen;
                            int ra = lenA;
                            int rb = lenB;
                            int diff = Math.abs(ra - rb);
                            int first = Math.min(diff, toRemove);
                            if (ra > rb) ra -= first; else rb -= first;
                            toRemove -= first;
                            // now equal (or nothing left): alternate, second first
                            rb -= (toRemove + 1) / 2;
                            ra -= toRemove / 2;
                            keepA = ra;
                            keepB = rb;
                        }
                    }
                    case ONLY_FIRST -> {
                        keepA = budget - lenB;
                        if (keepA < 0) {
                            throw new TokenizerException("cannot truncate the first sequence to fit " + maxLen
                                    + " tokens: the second sequence alone has " + lenB);
                        }
                    }
                    case ONLY_SECOND -> {
                        if (!isPair) throw new TokenizerException("truncation only_second needs a text pair");
                        keepB = budget - lenA;
                        if (keepB < 0) {
                            throw new TokenizerException("cannot truncate the second sequence to fit " + maxLen
                                    + " tokens: the first sequence alone has " + lenA);
                        }
                    }
                    default -> throw new IllegalStateException();
                }
            }
        }
        List<int[]> winA = windows(lenA, keepA, o.stride(), o.returnOverflowing());
        List<int[]> winB = isPair ? windows(lenB, keepB, o.stride(), o.returnOverflowing()) : null;

        Encoding main = assemble(a, winA.get(0), b, isPair ? winB.get(0) : null, o.addSpecialTokens(), List.of());
        if (winA.size() == 1 && (winB == null || winB.size() == 1)) return main;
        // HF's order: each overflowing window of A with B's first window and then with B's other windows,
        // then A's first window with B's other windows
        List<Encoding> over = new ArrayList<>();
        for (int i = 1; i < winA.size(); i++) {
            over.add(assemble(a, winA.get(i), b, isPair ? winB.get(0) : null, o.addSpecialTokens(), List.of()));
            if (isPair) {
                for (int j = 1; j < winB.size(); j++) {
                    over.add(assemble(a, winA.get(i), b, winB.get(j), o.addSpecialTokens(), List.of()));
                }
            }
        }
        if (isPair) {
            for (int j = 1; j < winB.size(); j++) {
                over.add(assemble(a, winA.get(0), b, winB.get(j), o.addSpecialTokens(), List.of()));
            }
        }
        return withOverflowing(main, over);
    }

    private int maxLength(EncodeOptions o) {
        return o.maxLength() != null ? o.maxLength() : modelMaxLength;
    }

    /** HF's Encoding.truncate: windows of {@code keep} tokens, each starting {@code keep - stride} after the last. */
    private static List<int[]> windows(int len, int keep, int stride, boolean overflowing) {
        if (keep >= len) return List.of(new int[] {0, len});
        if (!overflowing) return List.of(new int[] {0, keep});
        if (keep == 0) return List.of(new int[] {0, 0}, new int[] {0, len});
        if (stride >= keep) {
            throw new TokenizerException("stride " + stride + " must be below the truncated length " + keep
                    + " (max length minus special tokens and the other sequence)");
        }
        List<int[]> out = new ArrayList<>();
        int step = keep - stride;
        for (int start = 0; ; start += step) {
            int stop = Math.min(start + keep, len);
            out.add(new int[] {start, stop});
            if (stop == len) break;
        }
        return out;
    }

    /** Post-processing: lays out the special tokens and the (windowed) sequences. */
    private Encoding assemble(Seq a, int[] wa, Seq b, int[] wb, boolean addSpecial, List<Encoding> overflowing) {
        List<PostProcessor.Piece> template;
        if (addSpecial) {
            template = b == null ? post.single : post.pair;
        } else {
            template = b == null ? PostProcessor.none().single : PostProcessor.none().pair;
        }
        int n = 0;
        for (PostProcessor.Piece p : template) {
            if (p.isSequence()) {
                int[] w = p.sequence() == 0 ? wa : wb;
                n += w[1] - w[0];
            } else {
                n += p.specialIds().length;
            }
        }
        int[] ids = new int[n], type = new int[n], att = new int[n], spec = new int[n], st = new int[n],
                en = new int[n], words = new int[n], seqs = new int[n];
        int k = 0;
        for (PostProcessor.Piece p : template) {
            if (p.isSequence()) {
                Seq s = p.sequence() == 0 ? a : b;
                int[] w = p.sequence() == 0 ? wa : wb;
                int len = w[1] - w[0];
                System.arraycopy(s.ids(), w[0], ids, k, len);
                System.arraycopy(s.starts(), w[0], st, k, len);
                System.arraycopy(s.ends(), w[0], en, k, len);
                System.arraycopy(s.words(), w[0], words, k, len);
                Arrays.fill(type, k, k + len, p.typeId());
                Arrays.fill(att, k, k + len, 1);
                Arrays.fill(seqs, k, k + len, p.sequence());
                k += len;
            } else {
                for (int id : p.specialIds()) {
                    ids[k] = id;
                    type[k] = p.typeId();
                    att[k] = 1;
                    spec[k] = 1;
                    words[k] = -1;
                    seqs[k] = -1;
                    k++;
                }
            }
        }
        return new Encoding(ids, type, att, spec, st, en, words, seqs, this::idToTokenOrUnk, overflowing);
    }

    private static Encoding withOverflowing(Encoding e, List<Encoding> over) {
        return new Encoding(e.rawIds(), e.rawTypeIds(), e.rawAttentionMask(), e.rawSpecialTokensMask(), e.rawStarts(),
                e.rawEnds(), e.rawWordIds(), e.rawSequenceIds(), e.idToTokenFunction(), over);
    }

    /** The length to pad to, or -1 for no padding. */
    private int paddingTarget(EncodeOptions o, List<Encoding> batch) {
        return switch (o.padding()) {
            case DO_NOT_PAD -> -1;
            case MAX_LENGTH -> {
                if (o.maxLength() == null && modelMaxLength == Integer.MAX_VALUE) {
                    throw new TokenizerException("padding to max length needs maxLength: the tokenizer has no "
                            + "model_max_length");
                }
                yield maxLength(o);
            }
            case LONGEST -> {
                int m = 0;
                for (Encoding e : batch) {
                    m = Math.max(m, e.length());
                    for (Encoding w : e.overflowing()) m = Math.max(m, w.length());
                }
                yield m;
            }
        };
    }

    private Encoding pad(Encoding e, int target, EncodeOptions o) {
        List<Encoding> over = new ArrayList<>(e.overflowing().size());
        for (Encoding w : e.overflowing()) over.add(pad(w, target, o));
        int n = e.length();
        if (n >= target) return over.isEmpty() ? e : withOverflowing(e, over);
        int padId = padTokenId();
        if (padId < 0) throw new TokenizerException("padding needs a pad token, and this tokenizer has none");
        boolean left = (o.paddingSide() != null ? o.paddingSide() : paddingSide) == Side.LEFT;
        int p = target - n;
        int off = left ? p : 0;
        int padAt = left ? 0 : n;
        int[] ids = padArray(e.rawIds(), target, off, padAt, p, padId);
        int[] type = padArray(e.rawTypeIds(), target, off, padAt, p, 0);
        int[] att = padArray(e.rawAttentionMask(), target, off, padAt, p, 0);
        int[] spec = padArray(e.rawSpecialTokensMask(), target, off, padAt, p, 1);
        int[] st = padArray(e.rawStarts(), target, off, padAt, p, 0);
        int[] en = padArray(e.rawEnds(), target, off, padAt, p, 0);
        int[] words = padArray(e.rawWordIds(), target, off, padAt, p, -1);
        int[] seqs = padArray(e.rawSequenceIds(), target, off, padAt, p, -1);
        return new Encoding(ids, type, att, spec, st, en, words, seqs, e.idToTokenFunction(), over);
    }

    private static int[] padArray(int[] src, int target, int off, int padAt, int p, int value) {
        int[] out = new int[target];
        System.arraycopy(src, 0, out, off, src.length);
        Arrays.fill(out, padAt, padAt + p, value);
        return out;
    }

    // ---------------------------------------------------------------- decoding

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
        return decode(ids, skipSpecialTokens, cleanUpTokenizationSpaces);
    }

    /**
     * HF's slow {@code _decode}: model tokens are joined by the model's decoder; tokens added on top of the
     * vocabulary are kept as they are, separated by spaces; then the optional clean-up.
     */
    @Override
    public String decode(int[] ids, boolean skipSpecialTokens, boolean cleanUp) {
        Objects.requireNonNull(ids, "ids");
        List<String> parts = new ArrayList<>();
        List<String> current = new ArrayList<>();
        for (int id : ids) {
            if (skipSpecialTokens && isSpecialId(id)) continue;
            AddedToken at = added.byId(id);
            if (at != null && model.vocab().id(at.content()) < 0) {
                if (!current.isEmpty()) {
                    parts.add(model.tokensToString(current));
                    current.clear();
                }
                parts.add(at.content());
            } else {
                current.add(idToTokenOrThrow(id));
            }
        }
        if (!current.isEmpty()) parts.add(model.tokensToString(current));
        String text = String.join(" ", parts);
        return cleanUp ? cleanUpTokenization(text) : text;
    }

    /** HF's {@code clean_up_tokenization}: removes spaces before punctuation and English contractions. */
    public static String cleanUpTokenization(String s) {
        return s.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
                .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
                .replace(" 've", "'ve").replace(" 're", "'re");
    }

    private boolean isSpecialId(int id) {
        for (int s : allSpecialIds) if (s == id) return true;
        return false;
    }

    // ---------------------------------------------------------------- vocabulary

    @Override
    public List<String> convertIdsToTokens(int[] ids, boolean skipSpecialTokens) {
        List<String> out = new ArrayList<>(ids.length);
        for (int id : ids) {
            if (skipSpecialTokens && isSpecialId(id)) continue;
            out.add(idToTokenOrThrow(id));
        }
        return out;
    }

    @Override
    public int[] convertTokensToIds(List<String> tokens) {
        int[] out = new int[tokens.size()];
        for (int i = 0; i < out.length; i++) {
            int id = tokenToId(tokens.get(i));
            out[i] = id >= 0 ? id : model.unkId();
        }
        return out;
    }

    @Override
    public int tokenToId(String token) {
        if (token == null) return -1;
        AddedToken at = added.byContent(token);
        if (at != null) return at.id();
        return model.vocab().id(token);
    }

    @Override
    public String idToToken(int id) {
        String t = model.vocab().token(id);
        if (t != null) return t;
        AddedToken at = added.byId(id);
        return at == null ? null : at.content();
    }

    private String idToTokenOrThrow(int id) {
        String t = idToToken(id);
        if (t == null) throw new TokenizerException("id " + id + " is not in the vocabulary");
        return t;
    }

    private String idToTokenOrUnk(int id) {
        String t = idToToken(id);
        return t != null ? t : String.valueOf(specialToken("unk_token"));
    }

    @Override
    public int vocabSize() {
        return model.vocab().size();
    }

    @Override
    public int size() {
        int n = model.vocab().size();
        for (AddedToken t : added.tokens()) if (model.vocab().id(t.content()) < 0) n++;
        return n;
    }

    @Override
    public Map<String, Integer> vocab() {
        Map<String, Integer> m = new HashMap<>(model.vocab().asMap());
        for (AddedToken t : added.tokens()) m.put(t.content(), t.id());
        return Collections.unmodifiableMap(m);
    }

    @Override
    public int modelMaxLength() {
        return modelMaxLength;
    }

    @Override
    public int numSpecialTokensToAdd(boolean pair) {
        return post.added(pair);
    }

    @Override
    public String specialToken(String role) {
        return specialTokens.get(role);
    }

    @Override
    public List<String> allSpecialTokens() {
        LinkedHashSet<String> all = new LinkedHashSet<>();
        for (String r : ROLES) if (specialTokens.get(r) != null) all.add(specialTokens.get(r));
        all.addAll(additionalSpecialTokens);
        return List.copyOf(all);
    }

    @Override
    public int[] allSpecialIds() {
        return allSpecialIds.clone();
    }

    @Override
    public List<AddedToken> addedTokens() {
        return added.tokens();
    }
}
