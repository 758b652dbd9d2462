package dev.jformers.tokenizers;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Inputs that must neither hang nor crash: empty, whitespace, control chars, surrogates, huge texts. */
class EdgeCasesTest {
    private static final EncodeOptions NO_SPECIAL = EncodeOptions.defaults().withAddSpecialTokens(false);

    @Test
    void emptyAndWhitespaceOnly() {
        for (String s : new String[] {"", " ", "   ", "\t", "\n\n", " \t\r\n "}) {
            Encoding b = TestData.bertUncased().encode(s);
            assertArrayEquals(new int[] {101, 102}, b.ids());
            assertArrayEquals(new int[][] {{0, 0}, {0, 0}}, b.offsets());
            assertArrayEquals(new int[] {1, 1}, b.specialTokensMask());
        }
        assertEquals(0, TestData.gpt2().encode("").length());
        assertArrayEquals(new int[] {0, 2}, TestData.roberta().encode("").ids());
        assertEquals("", TestData.gpt2().decode(new int[0], false));
        assertEquals("", TestData.bertUncased().decode(new int[] {101, 102}, true));
        // GPT-2 keeps whitespace: "\s+(?!\S)" leaves the last space to the next word
        Tokenizer g = TestData.gpt2();
        assertEquals(List.of("Ġ", "Ġ", "Ġworld"), g.tokenize("   world"));
        assertEquals(List.of("ĉ", "ĉ", "Ċ", "a"), g.tokenize("\t\t\na"));
        assertEquals("\t\t\na  b \n", g.decode(g.encode("\t\t\na  b \n").ids(), false));
    }

    @Test
    void bertOffsetsPointIntoTheOriginalText() {
        Tokenizer t = TestData.bertUncased();
        // precomposed (NFC) and decomposed (NFD) accents give the same token, each with its own span
        Encoding nfc = t.encode("Café", NO_SPECIAL);
        Encoding nfd = t.encode("Cafe\u0301", NO_SPECIAL);
        assertArrayEquals(nfc.ids(), nfd.ids());
        assertEquals(List.of("cafe"), nfc.tokens());
        assertArrayEquals(new int[][] {{0, 4}}, nfc.offsets());
        // a removed combining mark leaves the span, as in HF's NormalizedString (it aligns only kept chars)
        assertArrayEquals(new int[][] {{0, 4}}, nfd.offsets());
        // word pieces of an upper-case, accented word
        Encoding e = t.encode("UNAFFÄBLE Crème", NO_SPECIAL);
        assertEquals(List.of("una", "##ffa", "##ble", "cr", "##eme"), e.tokens());
        assertArrayEquals(new int[][] {{0, 3}, {3, 6}, {6, 9}, {10, 12}, {12, 15}}, e.offsets());
        // İ lower-cases to two chars (i + combining dot): both map back to the one original char
        Encoding dot = t.encode("İstanbul", NO_SPECIAL);
        assertEquals("istanbul", String.join("", dot.tokens()).replace("##", ""));
        assertEquals(0, dot.startOffsets()[0]);
        assertEquals(8, dot.endOffsets()[dot.length() - 1]);
        // CJK ideographs are words of their own; kana are not
        Encoding cjk = t.encode("中文分词", NO_SPECIAL);
        assertEquals(4, cjk.length());
        assertArrayEquals(new int[][] {{0, 1}, {1, 2}, {2, 3}, {3, 4}}, cjk.offsets());
        assertArrayEquals(new int[] {0, 1, 2, 3}, cjk.wordIds());
    }

    @Test
    void emojiAndAstralCharacters() {
        Tokenizer b = TestData.bertUncased();
        Encoding e = b.encode("a😀b x", NO_SPECIAL);
        assertEquals(List.of("[UNK]", "x"), e.tokens());
        assertArrayEquals(new int[][] {{0, 4}, {5, 6}}, e.offsets());
        assertArrayEquals(new int[][] {{0, 3}, {4, 5}}, e.codePointOffsets("a😀b x"));
        Tokenizer g = TestData.gpt2();
        String text = "hi 😀!";
        Encoding ge = g.encode(text, NO_SPECIAL);
        assertEquals(List.of("hi", "ĠðŁĺ", "Ģ", "!"), ge.tokens());
        // GPT-2 (trim_offsets=False): the space belongs to the token; both byte pieces span the whole emoji
        assertArrayEquals(new int[][] {{0, 2}, {2, 5}, {3, 5}, {5, 6}}, ge.offsets());
        assertEquals(text, g.decode(ge.ids(), false));
        // RoBERTa (trim_offsets=True): the leading space is not counted
        Encoding re = TestData.roberta().encode(text);
        assertArrayEquals(new int[][] {{0, 0}, {0, 2}, {3, 5}, {3, 5}, {5, 6}, {0, 0}}, re.offsets());
        // a lone byte piece decodes to U+FFFD, as HF's errors="replace"
        assertEquals("\uFFFD", g.decode(new int[] {ge.ids()[2]}, false));
    }

    @Test
    void unpairedSurrogatesNulAndControlCharacters() {
        Tokenizer b = TestData.bertUncased();
        assertEquals(List.of("abc"), b.tokenize("\uD800abc\uDC00"));
        assertEquals(List.of("ab"), b.tokenize("a\u0000b"));
        assertEquals(List.of("ab", "cd"), b.tokenize("a\u0007b\u000Bc\u200Bd".replace("\u000B", " ")));
        assertEquals(List.of(), b.tokenize("\u0000\u0001\uFFFD\uD800"));
        Encoding e = b.encode("x\u0000y z", NO_SPECIAL);
        assertEquals(List.of("x", "##y", "z"), e.tokens());
        assertArrayEquals(new int[][] {{0, 1}, {2, 3}, {4, 5}}, e.offsets());

        Tokenizer g = TestData.gpt2();
        // a lone surrogate is tokenized as U+FFFD; its offsets still cover the one char
        Encoding s = g.encode("a\uD800b", NO_SPECIAL);
        assertEquals("a\uFFFDb", g.decode(s.ids(), false));
        assertEquals(0, s.startOffsets()[0]);
        assertEquals(3, s.endOffsets()[s.length() - 1]);
        Encoding nul = g.encode("\u0000x\u0001", NO_SPECIAL);
        assertEquals("\u0000x\u0001", g.decode(nul.ids(), false));
        assertEquals(List.of("Ā", "x", "ā"), nul.tokens());
        // high surrogate at the very end
        assertEquals("ab\uFFFD", g.decode(g.encode("ab\uD83D", NO_SPECIAL).ids(), false));
        assertEquals(TestData.roberta().encode("ok\uDE00").length(), 4);
    }

    @Test
    void invalidUtf8DecodesLikePythonReplace() {
        // expected values from Python: bytes(...).decode("utf-8", "replace")
        assertEquals("\uFFFD", ByteLevel.decodeUtf8(bytes(0xF0, 0x9F, 0x98)));
        assertEquals("\uFFFDA", ByteLevel.decodeUtf8(bytes(0xF0, 0x9F, 0x98, 0x41)));
        assertEquals("\uFFFD\uFFFD", ByteLevel.decodeUtf8(bytes(0x80, 0x80)));
        assertEquals("\uFFFD\uFFFD\uFFFD", ByteLevel.decodeUtf8(bytes(0xED, 0xA0, 0x80)));
        assertEquals("\uFFFD\uFFFD", ByteLevel.decodeUtf8(bytes(0xC0, 0x80)));
        assertEquals("\uFFFD\uFFFD\uFFFD\uFFFD", ByteLevel.decodeUtf8(bytes(0xF4, 0x90, 0x80, 0x80)));
        assertEquals("é😀", ByteLevel.decodeUtf8("é😀".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
        return b;
    }

    @Test
    void longWordsBecomeUnknownForWordPiece() {
        Tokenizer b = TestData.bertUncased();
        String w = "a".repeat(1000);
        Encoding e = b.encode(w + " b");
        assertArrayEquals(new int[] {101, 100, 1038, 102}, e.ids());
        assertArrayEquals(new int[][] {{0, 0}, {0, 1000}, {1001, 1002}, {0, 0}}, e.offsets());
        // exactly 100 chars is still split into pieces, 101 is [UNK]
        assertTrue(b.encode("a".repeat(100), NO_SPECIAL).length() > 1);
        assertArrayEquals(new int[] {100}, b.encode("a".repeat(101), NO_SPECIAL).ids());
        // astral chars count once: 100 emoji are 200 UTF-16 units but 100 code points
        assertArrayEquals(new int[] {100}, b.encode("😀".repeat(100), NO_SPECIAL).ids());
    }

    @Test
    void queueAndLoopMergesAgree() {
        BpeModel bpe = (BpeModel) ((HfTokenizer) TestData.gpt2()).model();
        Random r = new Random(42);
        String alphabet = "aeiouwrtplmn sthé😀'";
        for (int i = 0; i < 300; i++) {
            int len = 1 + r.nextInt(300);
            StringBuilder sb = new StringBuilder();
            while (sb.length() < len) sb.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0,
                    r.nextInt(alphabet.codePointCount(0, alphabet.length())))));
            String word = sb.toString();
            assertArrayEquals(bpe.mergeIdsForTest(word, false), bpe.mergeIdsForTest(word, true), word);
        }
    }

    @Test
    void tenMegabytesInAFewSeconds() {
        StringBuilder sb = new StringBuilder(10_500_000);
        Random r = new Random(1);
        String[] words = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "Hello,", "world!",
                "tokenization", "unbelievably", "naïve", "café", "中文", "😀", "1234", "e-mail:", "can't", "\n"};
        while (sb.length() < 10_000_000) {
            sb.append(words[r.nextInt(words.length)]);
            if (r.nextInt(7) != 0) sb.append(' ');
            if (r.nextInt(50) == 0) sb.append(Integer.toString(r.nextInt(1_000_000), 36));
        }
        String text = sb.toString();
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            Encoding g = TestData.gpt2().encode(text, NO_SPECIAL);
            assertTrue(g.length() > 1_000_000);
            Encoding b = TestData.bertUncased().encode(text, NO_SPECIAL);
            assertTrue(b.length() > 1_000_000);
        });
        // one 2 MB "word" without spaces: BPE must not be quadratic
        String word = "ab".repeat(500_000) + "xyz".repeat(300_000);
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            Encoding g = TestData.gpt2().encode(word, NO_SPECIAL);
            assertEquals(word, TestData.gpt2().decode(g.ids(), false));
            assertArrayEquals(new int[] {100}, TestData.bertUncased().encode(word, NO_SPECIAL).ids());
        });
    }

    @Test
    void concurrentEncodingGivesTheSameResults() throws Exception {
        Tokenizer g = TestData.gpt2();
        List<String> texts = List.of("Hello world", "The quick brown fox", "naïve café 😀", "aaaa bbbb cccc dddd");
        List<int[]> expected = texts.stream().map(t -> g.encode(t).ids()).toList();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new java.util.ArrayList<>();
            for (int i = 0; i < 400; i++) {
                int k = i % texts.size();
                // a fresh suffix each time, so the shared word cache is written while others read it
                String suffix = " w" + i;
                int[] base = expected.get(k);
                results.add(pool.submit(() -> {
                    int[] ids = g.encode(texts.get(k) + suffix).ids();
                    return java.util.Arrays.equals(base, java.util.Arrays.copyOf(ids, base.length));
                }));
            }
            for (Future<Boolean> f : results) assertTrue(f.get());
            for (int i = 0; i < texts.size(); i++) assertArrayEquals(expected.get(i), g.encode(texts.get(i)).ids());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void nullAndBadArgumentsRaiseTypedExceptions() {
        Tokenizer b = TestData.bertUncased();
        assertThrows(TokenizerException.class, () -> b.encode(null));
        assertThrows(TokenizerException.class, () -> b.decode(new int[] {999_999}, false));
        assertThrows(TokenizerException.class, () -> b.encode("hello world", EncodeOptions.defaults().withMaxLength(1)
                .withTruncation(TruncationStrategy.LONGEST_FIRST)));
        assertThrows(TokenizerException.class, () -> EncodeOptions.defaults().withStride(-1));
        assertThrows(TokenizerException.class, () -> TestData.gpt2().encode("hi", EncodeOptions.defaults()
                .withPadding(PaddingStrategy.MAX_LENGTH).withMaxLength(8)));
        assertThrows(TokenizerException.class, () -> b.encode("a b c", EncodeOptions.defaults().withMaxLength(4)
                .withTruncation(TruncationStrategy.ONLY_SECOND)));
    }
}
