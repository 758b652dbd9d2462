package dev.jformers.tokenizers;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * GPT-2 / RoBERTa byte-level BPE: pre-tokenize with GPT-2's regex, map each pre-token's UTF-8 bytes to byte
 * chars, then apply merges by rank.
 *
 * <p>Merging: short words by HF's textbook loop (find the lowest-ranked adjacent pair, merge all its occurrences
 * left to right); long words with a priority queue over a linked list of symbols (O(n log n); the same result,
 * since a merge only creates pairs of higher rank). Results of words up to {@link #CACHEABLE_WORD} chars are
 * cached; the cache is bounded and thread-safe.
 */
final class BpeModel implements TextModel {
    private static final int CACHE_CAPACITY = 20_000;
    private static final int CACHEABLE_WORD = 100;
    private static final int QUEUE_THRESHOLD = 48;

    private final Vocab vocab;
    private final MergeTable merges;
    private final int[] byteIds = new int[256];
    private final int unkId;
    private final boolean addPrefixSpace;
    private final boolean trimOffsets;
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param merges pairs in rank order (index = rank); a pair given twice keeps its last rank, as HF does
     */
    BpeModel(Vocab vocab, List<String[]> merges, String unkToken, boolean addPrefixSpace, boolean trimOffsets) {
        this.vocab = vocab;
        this.unkId = unkToken == null ? -1 : vocab.id(unkToken);
        this.addPrefixSpace = addPrefixSpace;
        this.trimOffsets = trimOffsets;
        this.merges = new MergeTable(Math.max(16, merges.size() * 2));
        for (int rank = 0; rank < merges.size(); rank++) {
            String[] m = merges.get(rank);
            int a = vocab.id(m[0]);
            int b = vocab.id(m[1]);
            int merged = vocab.id(m[0] + m[1]);
            if (a < 0 || b < 0 || merged < 0) {
                // HF's slow tokenizer would never produce such a pair from the vocabulary; the fast one refuses the file
                throw new TokenizerException("merge " + rank + " (\"" + m[0] + " " + m[1]
                        + "\") uses a token that is not in the vocabulary");
            }
            this.merges.put(a, b, rank, merged);
        }
        for (int b = 0; b < 256; b++) byteIds[b] = vocab.id(String.valueOf(ByteLevel.BYTE_TO_CHAR[b]));
    }

    @Override
    public Vocab vocab() {
        return vocab;
    }

    @Override
    public int unkId() {
        return unkId;
    }

    boolean addPrefixSpace() {
        return addPrefixSpace;
    }

    @Override
    public String tokensToString(List<String> tokens) {
        return ByteLevel.decode(String.join("", tokens));
    }

    @Override
    public void encode(String text, int start, int end, TokenSink out) {
        if (start >= end) return;
        String s = text;
        int from = start;
        int to = end;
        int shift = 0; // original index = index in s + shift
        boolean prefixed = false;
        if (addPrefixSpace && text.charAt(start) != ' ') {
            // HF's fast ByteLevel pre-tokenizer: a space is prepended to every segment that does not start with one
            s = " " + text.substring(start, end);
            from = 0;
            to = s.length();
            shift = start - 1;
            prefixed = true;
        }
        int firstCharEnd = start + Character.charCount(text.codePointAt(start));
        int i = from;
        while (i < to) {
            int j = ByteLevel.nextPreToken(s, i, to);
            out.newWord();
            int[] r = bpeWord(s, i, j);
            int n = r[0];
            // walk the pre-token's code points alongside the tokens' bytes to find each token's original span
            int cpPos = i;          // index in s of the current code point
            int cpBytesLeft = cpPos < j ? ByteLevel.utf8Length(cpAt(s, cpPos, j)) : 0;
            for (int t = 0; t < n; t++) {
                int id = r[1 + t];
                int len = r[1 + n + t];
                int tokStart = cpPos;
                int leading = 0;
                int trailing = 0;
                int lastCp = cpPos;
                boolean leadingRun = true;
                int remaining = len;
                while (remaining > 0) {
                    int cp = cpAt(s, cpPos, j);
                    lastCp = cpPos;
                    int take = Math.min(remaining, cpBytesLeft);
                    remaining -= take;
                    cpBytesLeft -= take;
                    if (cp == ' ') {
                        if (leadingRun) leading++;
                        trailing++;
                    } else {
                        leadingRun = false;
                        trailing = 0;
                    }
                    if (cpBytesLeft == 0) {
                        cpPos += Character.charCount(cp);
                        cpBytesLeft = cpPos < j ? ByteLevel.utf8Length(cpAt(s, cpPos, j)) : 0;
                    }
                }
                int os = tokStart + shift;
                int oe = lastCp + Character.charCount(cpAt(s, lastCp, j)) + shift;
                if (prefixed) {
                    if (tokStart == 0) os = start;        // the added space stands for the first char
                    if (lastCp == 0) oe = firstCharEnd;
                }
                if (trimOffsets) {
                    if (leading > 0) {
                        boolean isFirst = out.size == 0 || os == 0; // first of the whole sequence, as HF
                        int lead = (isFirst && addPrefixSpace && leading == 1) ? 0 : leading;
                        os = Math.min(os + lead, oe);
                    }
                    if (trailing > 0 && oe >= trailing) oe = Math.max(oe - trailing, os);
                }
                out.add(id, os, oe);
            }
            i = j;
        }
    }

    private static int cpAt(String s, int i, int end) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(s.charAt(i + 1))) {
            return Character.toCodePoint(c, s.charAt(i + 1));
        }
        return c;
    }

    /** BPE of one pre-token: {@code [n, id_1..id_n, byteLength_1..byteLength_n]}. */
    private int[] bpeWord(String s, int from, int to) {
        boolean cacheable = to - from <= CACHEABLE_WORD;
        String key = null;
        if (cacheable) {
            key = s.substring(from, to);
            int[] hit = cache.get(key);
            if (hit != null) return hit;
        }
        byte[] bytes = new byte[(to - from) * 3];
        int n = ByteLevel.utf8(s, from, to, bytes);
        int[] sym = new int[n];
        int[] len = new int[n];
        for (int k = 0; k < n; k++) {
            int id = byteIds[bytes[k] & 0xFF];
            if (id < 0) {
                if (unkId < 0) {
                    throw new TokenizerException("byte 0x" + Integer.toHexString(bytes[k] & 0xFF)
                            + " has no token in the vocabulary and there is no unknown token");
                }
                id = unkId;
            }
            sym[k] = id;
            len[k] = 1;
        }
        int m = n <= QUEUE_THRESHOLD ? mergeSimple(sym, len, n) : mergeWithQueue(sym, len, n);
        int[] r = new int[1 + 2 * m];
        r[0] = m;
        System.arraycopy(sym, 0, r, 1, m);
        System.arraycopy(len, 0, r, 1 + m, m);
        if (cacheable && cache.size() < CACHE_CAPACITY) cache.put(key, r);
        return r;
    }

    /** Test hook: BPE ids of one pre-token with either merge algorithm (they must agree). */
    int[] mergeIdsForTest(String word, boolean useQueue) {
        byte[] bytes = new byte[word.length() * 3];
        int n = ByteLevel.utf8(word, 0, word.length(), bytes);
        int[] sym = new int[n];
        int[] len = new int[n];
        for (int k = 0; k < n; k++) {
            sym[k] = byteIds[bytes[k] & 0xFF];
            len[k] = 1;
        }
        int m = useQueue ? mergeWithQueue(sym, len, n) : mergeSimple(sym, len, n);
        return Arrays.copyOf(sym, m);
    }

    /** HF's loop: merge every occurrence of the lowest-ranked pair, until no pair has a rank. */
    private int mergeSimple(int[] sym, int[] len, int n) {
        while (n > 1) {
            long best = Long.MAX_VALUE;
            int bestAt = -1;
            for (int k = 0; k + 1 < n; k++) {
                long v = merges.get(sym[k], sym[k + 1]);
                if (v >= 0 && v < best) {
                    best = v;
                    bestAt = k;
                }
            }
            if (bestAt < 0) break;
            int a = sym[bestAt];
            int b = sym[bestAt + 1];
            int merged = (int) best;
            int w = bestAt;
            int k = bestAt;
            while (k < n) {
                if (k + 1 < n && sym[k] == a && sym[k + 1] == b) {
                    sym[w] = merged;
                    len[w] = len[k] + len[k + 1];
                    k += 2;
                } else {
                    sym[w] = sym[k];
                    len[w] = len[k];
                    k++;
                }
                w++;
            }
            n = w;
        }
        return n;
    }

    /** The same merges with a binary heap of (rank, position) over a doubly linked list of symbols. */
    private int mergeWithQueue(int[] sym, int[] len, int n) {
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int k = 0; k < n; k++) {
            next[k] = k + 1 < n ? k + 1 : -1;
            prev[k] = k - 1;
        }
        LongHeap heap = new LongHeap(n);
        for (int k = 0; k + 1 < n; k++) {
            long v = merges.get(sym[k], sym[k + 1]);
            if (v >= 0) heap.push(((v >>> 32) << 32) | k);
        }
        while (heap.size() > 0) {
            long top = heap.pop();
            int rank = (int) (top >>> 32);
            int k = (int) top;
            if (len[k] == 0) continue; // merged into its left neighbour
            int nk = next[k];
            if (nk < 0) continue;
            long v = merges.get(sym[k], sym[nk]);
            if (v < 0 || (int) (v >>> 32) != rank) continue; // stale entry
            sym[k] = (int) v;
            len[k] += len[nk];
            len[nk] = 0;
            next[k] = next[nk];
            if (next[nk] >= 0) prev[next[nk]] = k;
            if (prev[k] >= 0) {
                long pv = merges.get(sym[prev[k]], sym[k]);
                if (pv >= 0) heap.push(((pv >>> 32) << 32) | prev[k]);
            }
            if (next[k] >= 0) {
                long nv = merges.get(sym[k], sym[next[k]]);
                if (nv >= 0) heap.push(((nv >>> 32) << 32) | k);
            }
        }
        int w = 0;
        for (int k = 0; k >= 0; k = next[k]) {
            sym[w] = sym[k];
            len[w] = len[k];
            w++;
        }
        return w;
    }

    /** Open-addressing map (left id, right id) to (rank << 32 | merged id); -1 when absent. */
    private static final class MergeTable {
        private final long[] keys;
        private final long[] values;
        private final int mask;

        MergeTable(int minCapacity) {
            int cap = Integer.highestOneBit(Math.max(4, minCapacity - 1)) << 1;
            keys = new long[cap];
            values = new long[cap];
            Arrays.fill(keys, -1L);
            mask = cap - 1;
        }

        private static int hash(long key) {
            long h = key * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 29));
        }

        void put(int a, int b, int rank, int merged) {
            long key = ((long) a << 32) | (b & 0xFFFFFFFFL);
            int i = hash(key) & mask;
            while (keys[i] != -1L && keys[i] != key) i = (i + 1) & mask;
            keys[i] = key;
            values[i] = ((long) rank << 32) | (merged & 0xFFFFFFFFL);
        }

        long get(int a, int b) {
            long key = ((long) a << 32) | (b & 0xFFFFFFFFL);
            int i = hash(key) & mask;
            while (true) {
                long k = keys[i];
                if (k == key) return values[i];
                if (k == -1L) return -1L;
                i = (i + 1) & mask;
            }
        }
    }

    /** Min-heap of longs. */
    private static final class LongHeap {
        private long[] a;
        private int size;

        LongHeap(int capacity) {
            a = new long[Math.max(4, capacity)];
        }

        int size() {
            return size;
        }

        void push(long v) {
            if (size == a.length) a = Arrays.copyOf(a, size * 2);
            int i = size++;
            while (i > 0) {
                int p = (i - 1) >>> 1;
                if (a[p] <= v) break;
                a[i] = a[p];
                i = p;
            }
            a[i] = v;
        }

        long pop() {
            long top = a[0];
            long last = a[--size];
            int i = 0;
            while (true) {
                int c = 2 * i + 1;
                if (c >= size) break;
                if (c + 1 < size && a[c + 1] < a[c]) c++;
                if (a[c] >= last) break;
                a[i] = a[c];
                i = c;
            }
            a[i] = last;
            return top;
        }
    }
}
