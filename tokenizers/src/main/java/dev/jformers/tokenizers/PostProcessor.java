package dev.jformers.tokenizers;

import java.util.List;

/**
 * Where special tokens go around one or two sequences, and their type ids (HF's TemplateProcessing; BERT's and
 * RoBERTa's processors are fixed templates).
 */
final class PostProcessor {
    /** One template item: a sequence (0 = A, 1 = B) or special token ids, with the type id they get. */
    record Piece(int sequence, int[] specialIds, int typeId) {
        static Piece seq(int which, int typeId) {
            return new Piece(which, null, typeId);
        }

        static Piece special(int[] ids, int typeId) {
            return new Piece(-1, ids, typeId);
        }

        boolean isSequence() {
            return specialIds == null;
        }
    }

    final List<Piece> single;
    final List<Piece> pair;

    PostProcessor(List<Piece> single, List<Piece> pair) {
        this.single = List.copyOf(single);
        this.pair = List.copyOf(pair);
    }

    /** No special tokens (GPT-2): A, or A B with type ids 0 and 1. */
    static PostProcessor none() {
        return new PostProcessor(List.of(Piece.seq(0, 0)), List.of(Piece.seq(0, 0), Piece.seq(1, 1)));
    }

    /** BERT: [CLS] A [SEP] and [CLS] A [SEP] B [SEP], type ids 0 … 0 1 … 1. */
    static PostProcessor bert(int cls, int sep) {
        return new PostProcessor(
                List.of(Piece.special(new int[] {cls}, 0), Piece.seq(0, 0), Piece.special(new int[] {sep}, 0)),
                List.of(Piece.special(new int[] {cls}, 0), Piece.seq(0, 0), Piece.special(new int[] {sep}, 0),
                        Piece.seq(1, 1), Piece.special(new int[] {sep}, 1)));
    }

    /** RoBERTa: {@code <s> A </s>} and {@code <s> A </s></s> B </s>}, all type ids 0. */
    static PostProcessor roberta(int cls, int sep) {
        return new PostProcessor(
                List.of(Piece.special(new int[] {cls}, 0), Piece.seq(0, 0), Piece.special(new int[] {sep}, 0)),
                List.of(Piece.special(new int[] {cls}, 0), Piece.seq(0, 0), Piece.special(new int[] {sep, sep}, 0),
                        Piece.seq(1, 0), Piece.special(new int[] {sep}, 0)));
    }

    /** Number of special tokens added to one sequence or to a pair. */
    int added(boolean isPair) {
        int n = 0;
        for (Piece p : isPair ? pair : single) if (!p.isSequence()) n += p.specialIds().length;
        return n;
    }
}
