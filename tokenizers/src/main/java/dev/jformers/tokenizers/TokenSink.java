package dev.jformers.tokenizers;

import java.util.Arrays;

/** Growable columns of tokens produced for one sequence: id, offsets into the original text, word index. */
final class TokenSink {
    int size;
    int[] ids = new int[16];
    int[] starts = new int[16];
    int[] ends = new int[16];
    int[] words = new int[16];
    private int word = -1;

    /** Starts a new word (pre-token); following tokens belong to it. */
    void newWord() {
        word++;
    }

    void add(int id, int start, int end) {
        if (size == ids.length) {
            int n = ids.length * 2;
            ids = Arrays.copyOf(ids, n);
            starts = Arrays.copyOf(starts, n);
            ends = Arrays.copyOf(ends, n);
            words = Arrays.copyOf(words, n);
        }
        ids[size] = id;
        starts[size] = start;
        ends[size] = end;
        words[size] = word;
        size++;
    }
}
