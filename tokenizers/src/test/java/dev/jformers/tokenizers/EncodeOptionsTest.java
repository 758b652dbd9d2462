package dev.jformers.tokenizers;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pairs, truncation, overflowing windows, padding, batches, word/sequence ids and decoding. */
class EncodeOptionsTest {
    private final Tokenizer bert = TestData.bertUncased();

    @Test
    void bertPairHasTypeIdsAndSequenceIds() {
        Encoding e = bert.encode("hello world", "the quick brown fox");
        assertArrayEquals(new int[] {101, 7592, 2088, 102, 1996, 4248, 2829, 4419, 102}, e.ids());
        assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1, 1, 1, 1}, e.typeIds());
        assertArrayEquals(new int[] {-1, 0, 0, -1, 1, 1, 1, 1, -1}, e.sequenceIds());
        assertArrayEquals(new int[] {1, 0, 0, 1, 0, 0, 0, 0, 1}, e.specialTokensMask());
        assertArrayEquals(new int[] {-1, 0, 1, -1, 0, 1, 2, 3, -1}, e.wordIds());
        // offsets of the second sequence are into the second text
        assertArrayEquals(new int[] {0, 3}, e.offsets()[4]);
        assertEquals(3, bert.numSpecialTokensToAdd(true));
        assertEquals(2, bert.numSpecialTokensToAdd(false));
    }

    @Test
    void wordIdsFollowThePreTokenizer() {
        Encoding e = bert.encode("hello, unaffable!");
        assertEquals(List.of("[CLS]", "hello", ",", "una", "##ffa", "##ble", "!", "[SEP]"), e.tokens());
        assertArrayEquals(new int[] {-1, 0, 1, 2, 2, 2, 3, -1}, e.wordIds());
        Encoding g = TestData.gpt2().encode("Hello world, again");
        assertArrayEquals(new int[] {0, 1, 2, 3}, g.wordIds());
    }

    @Test
    void truncationStrategies() {
        EncodeOptions o = EncodeOptions.defaults().withTruncation(TruncationStrategy.LONGEST_FIRST);
        // remove from the longer sequence first
        assertArrayEquals(new int[] {101, 7592, 2088, 102, 1996, 4248, 102},
                bert.encode("hello world", "the quick brown fox", o.withMaxLength(7)).ids());
        // then alternately, the second sequence first
        assertArrayEquals(new int[] {101, 7592, 102, 1996, 102},
                bert.encode("hello world", "the quick brown fox", o.withMaxLength(5)).ids());
        assertArrayEquals(new int[] {101, 7592, 2088, 102, 1996, 102},
                bert.encode("hello world", "the quick brown fox", o.withMaxLength(6)).ids());
        assertArrayEquals(new int[] {101, 7592, 102, 1996, 4248, 2829, 4419, 102},
                bert.encode("hello world", "the quick brown fox",
                        o.withMaxLength(8).withTruncation(TruncationStrategy.ONLY_FIRST)).ids());
        assertArrayEquals(new int[] {101, 7592, 2088, 102, 1996, 4248, 102},
                bert.encode("hello world", "the quick brown fox",
                        o.withMaxLength(7).withTruncation(TruncationStrategy.ONLY_SECOND)).ids());
        assertArrayEquals(new int[] {101, 7592, 102}, bert.encode("hello world", EncodeOptions.defaults().withTruncation(3)).ids());
        // no truncation when it fits; model_max_length when no max length is given
        assertEquals(4, bert.encode("hello world", o.withMaxLength(4)).length());
        Tokenizer pipe = TestData.pipeline("text-classification-bert");
        assertEquals(128, pipe.encode("word ".repeat(500), o).length());
        assertEquals(502, pipe.encode("word ".repeat(500)).length());
    }

    @Test
    void overflowingWindowsWithStride() {
        EncodeOptions o = EncodeOptions.defaults().withMaxLength(6).withTruncation(TruncationStrategy.LONGEST_FIRST)
                .withStride(2).withReturnOverflowing(true);
        Encoding e = bert.encode("a b c d e f g h i j", o);
        List<List<String>> windows = new ArrayList<>();
        windows.add(e.tokens());
        for (Encoding w : e.overflowing()) windows.add(w.tokens());
        assertEquals(List.of(
                List.of("[CLS]", "a", "b", "c", "d", "[SEP]"),
                List.of("[CLS]", "c", "d", "e", "f", "[SEP]"),
                List.of("[CLS]", "e", "f", "g", "h", "[SEP]"),
                List.of("[CLS]", "g", "h", "i", "j", "[SEP]")), windows);
        assertArrayEquals(new int[] {14, 15}, e.overflowing().get(1).offsets()[4]); // "h" in the original text
        // QA: the question is kept whole, the context is windowed; padded to max length
        Encoding qa = bert.encode("who?", "a b c d e f g h", EncodeOptions.defaults().withMaxLength(9)
                .withTruncation(TruncationStrategy.ONLY_SECOND).withStride(1).withReturnOverflowing(true)
                .withPadding(PaddingStrategy.MAX_LENGTH));
        assertEquals(List.of("[CLS]", "who", "?", "[SEP]", "a", "b", "c", "d", "[SEP]"), qa.tokens());
        assertEquals(2, qa.overflowing().size());
        assertEquals(List.of("[CLS]", "who", "?", "[SEP]", "d", "e", "f", "g", "[SEP]"), qa.overflowing().get(0).tokens());
        assertEquals(List.of("[CLS]", "who", "?", "[SEP]", "g", "h", "[SEP]", "[PAD]", "[PAD]"),
                qa.overflowing().get(1).tokens());
        assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1, 1, 0, 0}, qa.overflowing().get(1).attentionMask());
        assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1, 1, 0, 0}, qa.overflowing().get(1).typeIds());
        assertArrayEquals(new int[] {-1, 0, 0, -1, 1, 1, -1, -1, -1}, qa.overflowing().get(1).sequenceIds());
    }

    @Test
    void padding() {
        EncodeOptions o = EncodeOptions.defaults().withPadding(PaddingStrategy.MAX_LENGTH).withMaxLength(8);
        Encoding r = bert.encode("hello world", o);
        assertArrayEquals(new int[] {101, 7592, 2088, 102, 0, 0, 0, 0}, r.ids());
        assertArrayEquals(new int[] {1, 1, 1, 1, 0, 0, 0, 0}, r.attentionMask());
        assertArrayEquals(new int[] {1, 0, 0, 1, 1, 1, 1, 1}, r.specialTokensMask());
        assertEquals("[PAD]", r.tokens().get(7));
        Encoding l = bert.encode("hello world", o.withPaddingSide(Side.LEFT));
        assertArrayEquals(new int[] {0, 0, 0, 0, 101, 7592, 2088, 102}, l.ids());
        assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1, 1, 1}, l.attentionMask());
        assertArrayEquals(new int[] {0, 0}, l.offsets()[0]);
        assertArrayEquals(new int[] {0, 5}, l.offsets()[5]);
        List<Encoding> batch = bert.encodeBatch(List.of("hello", "hello world again", "hi"),
                EncodeOptions.defaults().withPadding(PaddingStrategy.LONGEST));
        for (Encoding e : batch) assertEquals(5, e.length());
        assertArrayEquals(new int[] {101, 7592, 102, 0, 0}, batch.get(0).ids());
        // RoBERTa pads with <pad> = 1; pairs are <s> A </s></s> B </s> with type ids 0
        Tokenizer rob = TestData.roberta();
        Encoding p = rob.encode("Hello", "world", EncodeOptions.defaults().withPadding(PaddingStrategy.MAX_LENGTH)
                .withMaxLength(9));
        assertArrayEquals(new int[] {0, 31414, 2, 2, 8331, 2, 1, 1, 1}, p.ids());
        assertArrayEquals(new int[9], p.typeIds());
        // batch of pairs
        List<Encoding> pairs = bert.encodeBatch(List.of("a", "b c"), List.of("d e", "f"),
                EncodeOptions.defaults().withPadding(PaddingStrategy.LONGEST));
        assertEquals(6, pairs.get(0).length());
        assertEquals(6, pairs.get(1).length());
    }

    @Test
    void decoding() {
        int[] ids = bert.encode("Hello, world! It's here.").ids();
        assertEquals("[CLS] hello, world! it's here. [SEP]", bert.decode(ids, false));
        assertEquals("hello, world! it's here.", bert.decode(ids, true));
        assertEquals("hello , world ! it ' s here .", bert.decode(ids, true, false));
        assertEquals(List.of("hello", ",", "world", "!", "it", "'", "s", "here", "."), bert.convertIdsToTokens(ids, true));
        Tokenizer rob = TestData.roberta();
        int[] r = rob.encode("Paris is the <mask> of France.").ids();
        assertEquals("<s>Paris is the<mask> of France.</s>", rob.decode(r, false));
        assertEquals("Paris is the of France.", rob.decode(r, true));
        assertEquals(List.of("hello", "world"), bert.decodeBatch(List.of(new int[] {7592}, new int[] {2088}), false));
        assertEquals(-1, bert.tokenToId("no-such-token"));
        assertEquals("hello", bert.idToToken(7592));
        assertTrue(bert.allSpecialTokens().containsAll(List.of("[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]")));
        assertEquals(30522, bert.vocab().size());
        assertEquals(30522, bert.size());
    }

    @Test
    void gpt2PairsAndNoSpecialTokens() {
        Tokenizer g = TestData.gpt2();
        Encoding e = g.encode("Hello", " world");
        assertArrayEquals(new int[] {15496, 995}, e.ids());
        assertArrayEquals(new int[] {0, 1}, e.typeIds());
        assertArrayEquals(new int[] {50256, 15496}, g.encode("<|endoftext|>Hello").ids());
        assertEquals("Hello", g.decode(new int[] {50256, 15496}, true));
    }
}
