package dev.jformers.tokenizers;

/** Hugging Face's truncation strategies (the {@code truncation=} argument). */
public enum TruncationStrategy {
    /** Never truncate. */
    DO_NOT_TRUNCATE,
    /** Remove tokens one at a time from the longer sequence (ties: from the second), as HF does. */
    LONGEST_FIRST,
    /** Truncate only the first sequence. */
    ONLY_FIRST,
    /** Truncate only the second sequence of a pair (question answering: keep the question whole). */
    ONLY_SECOND
}
