package dev.jformers.tokenizers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** tokenizer.json (fast-tokenizer file) loading gives the same results as the slow-tokenizer files. */
class TokenizerJsonTest {
    private static final List<String> TEXTS = List.of("", " ", "Hello, world!", "hello world", "  the   world  ",
            "unaffable tokenization", "Café naïve", "I'm don't you're", "tabs\tand\nnewlines\r\nhere",
            "中文 是", "emoji 😀 end", "hello <mask>!", "[CLS] hello [MASK] [SEP]", "x\u0000y\u200bz", "\uD800 lone",
            "the cafe café  caf\u00e9 hello");

    static Path resource(String name) {
        try {
            return Path.of(TokenizerJsonTest.class.getResource("/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void assertSame(Tokenizer fast, Tokenizer slow, List<String> texts) {
        for (String text : texts) {
            Encoding f = fast.encode(text);
            Encoding s = slow.encode(text);
            String what = TokenizerVectorsTest.abbreviate(text);
            assertArrayEquals(s.ids(), f.ids(), "ids " + what);
            assertArrayEquals(s.typeIds(), f.typeIds(), "type ids " + what);
            assertArrayEquals(s.offsets(), f.offsets(), "offsets " + what);
            assertEquals(slow.decode(s.ids(), true), fast.decode(f.ids(), true), "decode " + what);
            Encoding fp = fast.encode(text, "the world");
            Encoding sp = slow.encode(text, "the world");
            assertArrayEquals(sp.ids(), fp.ids(), "pair ids " + what);
            assertArrayEquals(sp.typeIds(), fp.typeIds(), "pair type ids " + what);
        }
    }

    @Test
    void smallWordPieceTokenizerJsonEqualsVocabTxt() {
        Tokenizer fast = AutoTokenizer.fromPretrained(resource("wordpiece-small"));
        Tokenizer slow = AutoTokenizer.fromPretrained(resource("wordpiece-small-slow"));
        assertSame(fast, slow, TEXTS);
        assertEquals(32, fast.modelMaxLength());
        Encoding e = fast.encode("Hello, world!");
        assertArrayEquals(new int[] {2, 5, 14, 6, 13, 3}, e.ids());
        assertArrayEquals(new int[][] {{0, 0}, {0, 5}, {5, 6}, {7, 12}, {12, 13}, {0, 0}}, e.offsets());
        assertArrayEquals(new int[] {9, 10, 11}, fast.encode("unaffable", EncodeOptions.defaults()
                .withAddSpecialTokens(false)).ids());
        Encoding accents = fast.encode("Café naïve", EncodeOptions.defaults().withAddSpecialTokens(false));
        assertArrayEquals(new int[] {18, 19}, accents.ids());
        assertArrayEquals(new int[][] {{0, 4}, {5, 10}}, accents.offsets());
        assertEquals("[CLS] hello [MASK] [SEP]", fast.decode(fast.encode("[CLS] hello [MASK] [SEP]",
                EncodeOptions.defaults().withAddSpecialTokens(false)).ids(), false));
    }

    @Test
    void smallByteLevelBpeTokenizerJsonEqualsVocabJsonAndMerges() {
        Tokenizer fast = AutoTokenizer.fromPretrained(resource("bpe-small"));
        Tokenizer slow = AutoTokenizer.fromPretrained(resource("bpe-small-slow"));
        assertSame(fast, slow, TEXTS);
        int mask = fast.maskTokenId();
        assertEquals(285, mask);
        // <mask> absorbs the space before it; its offsets are its own text
        Encoding e = fast.encode("hello <mask>!");
        List<String> tokens = e.tokens();
        assertEquals(List.of("<s>", "he", "ll", "o", "<mask>", "!", "</s>"), tokens);
        assertArrayEquals(new int[][] {{0, 0}, {0, 2}, {2, 4}, {4, 5}, {6, 12}, {12, 13}, {0, 0}}, e.offsets());
        // "c a" outranks "Ġ c", so the space stays alone; trim_offsets gives it an empty span
        Encoding c = fast.encode("the café", EncodeOptions.defaults().withAddSpecialTokens(false));
        assertEquals(List.of("t", "he", "Ġ", "cafÃ©"), c.tokens());
        assertArrayEquals(new int[][] {{0, 1}, {1, 3}, {4, 4}, {4, 8}}, c.offsets());
        assertEquals("the café", fast.decode(c.ids(), false));
    }

    @Test
    void tokenizerJsonAloneGuessesTheSpecialTokens() {
        Tokenizer t = AutoTokenizer.fromTokenizerJson(resource("wordpiece-small").resolve("tokenizer.json"));
        assertEquals(2, t.clsTokenId());
        assertEquals(0, t.padTokenId());
        assertEquals(Integer.MAX_VALUE, t.modelMaxLength());
        Tokenizer b = AutoTokenizer.fromTokenizerJson(resource("bpe-small").resolve("tokenizer.json"));
        assertEquals(285, b.maskTokenId());
        assertEquals(0, b.bosTokenId());
    }

    // ---- tokenizer.json written (in HF's shape) from the real vocabularies, checked on all golden texts

    private static List<String> goldenTexts() {
        List<String> texts = new ArrayList<>();
        TestData.json("golden/tokenizers.json").path("texts").forEach(x -> texts.add(x.asText()));
        String inp = TestData.read("tokenizer-vectors/gpt2.inp");
        for (String s : inp.split("\n__ggml_vocab_test__\n")) texts.add(s);
        return texts;
    }

    private static ObjectNode addedToken(int id, String content, boolean lstrip, boolean normalized) {
        ObjectNode n = TestData.JSON.createObjectNode();
        n.put("id", id).put("content", content).put("single_word", false).put("lstrip", lstrip).put("rstrip", false)
                .put("normalized", normalized).put("special", true);
        return n;
    }

    @Test
    void bertTokenizerJsonFromTheRealVocabulary(@TempDir Path dir) throws IOException {
        ObjectNode root = TestData.JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        added.add(addedToken(0, "[PAD]", false, false)).add(addedToken(100, "[UNK]", false, false))
                .add(addedToken(101, "[CLS]", false, false)).add(addedToken(102, "[SEP]", false, false))
                .add(addedToken(103, "[MASK]", false, false));
        ObjectNode norm = root.putObject("normalizer");
        norm.put("type", "BertNormalizer").put("clean_text", true).put("handle_chinese_chars", true)
                .putNull("strip_accents");
        norm.put("lowercase", true);
        root.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "BertProcessing");
        post.putArray("sep").add("[SEP]").add(102);
        post.putArray("cls").add("[CLS]").add(101);
        root.putObject("decoder").put("type", "WordPiece").put("prefix", "##").put("cleanup", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "WordPiece").put("unk_token", "[UNK]").put("continuing_subword_prefix", "##")
                .put("max_input_chars_per_word", 100);
        ObjectNode vocab = model.putObject("vocab");
        List<String> lines = Files.readAllLines(TestData.path("vocab/bert-base-uncased/vocab.txt"));
        for (int i = 0; i < lines.size(); i++) vocab.put(lines.get(i), i);
        TestData.JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"bert\"}");
        Tokenizer fast = AutoTokenizer.fromPretrained(dir);
        Tokenizer slow = TestData.bertUncased();
        assertSame(fast, slow, goldenTexts());
    }

    private static void writeByteLevel(Path dir, Path vocabJson, Path mergesTxt, boolean roberta) throws IOException {
        ObjectNode root = TestData.JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        if (roberta) {
            added.add(addedToken(0, "<s>", false, true)).add(addedToken(1, "<pad>", false, true))
                    .add(addedToken(2, "</s>", false, true)).add(addedToken(3, "<unk>", false, true))
                    .add(addedToken(50264, "<mask>", true, false));
        } else {
            added.add(addedToken(50256, "<|endoftext|>", false, true));
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
        ObjectNode post = root.putObject("post_processor");
        if (roberta) {
            post.put("type", "RobertaProcessing");
            post.putArray("sep").add("</s>").add(2);
            post.putArray("cls").add("<s>").add(0);
            post.put("trim_offsets", true).put("add_prefix_space", false);
        } else {
            post.put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", false)
                    .put("use_regex", true);
        }
        root.putObject("decoder").put("type", "ByteLevel");
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "").put("end_of_word_suffix", "").put("fuse_unk", false)
                .put("byte_fallback", false);
        model.set("vocab", TestData.JSON.readTree(vocabJson.toFile()));
        ArrayNode merges = model.putArray("merges");
        List<String> lines = Files.readAllLines(mergesTxt);
        for (int i = 1; i < lines.size(); i++) if (!lines.get(i).isEmpty()) merges.add(lines.get(i));
        TestData.JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);
    }

    @Test
    void gpt2TokenizerJsonFromTheRealVocabulary(@TempDir Path dir) throws IOException {
        writeByteLevel(dir, TestData.path("vocab/gpt2/vocab.json"), TestData.path("vocab/gpt2/merges.txt"), false);
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\"}");
        Tokenizer fast = AutoTokenizer.fromPretrained(dir);
        assertSame(fast, TestData.gpt2(), goldenTexts());
        assertEquals(50256, fast.eosTokenId());
    }

    @Test
    void robertaTokenizerJsonFromTheRealVocabulary(@TempDir Path dir) throws IOException {
        writeByteLevel(dir, TestData.path("vocab/roberta-base/vocab.json"),
                TestData.path("vocab/roberta-base/merges.txt"), true);
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"roberta\"}");
        Tokenizer fast = AutoTokenizer.fromPretrained(dir);
        assertSame(fast, TestData.roberta(), goldenTexts());
        assertEquals(50264, fast.maskTokenId());
    }

    @Test
    void unsupportedPiecesAreNamed(@TempDir Path dir) throws IOException {
        JsonNode root = TestData.JSON.readTree(resource("wordpiece-small").resolve("tokenizer.json").toFile());
        ((ObjectNode) root.path("normalizer")).put("type", "Precompiled");
        TestData.JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);
        TokenizerException e = assertThrows(TokenizerException.class, () -> AutoTokenizer.fromPretrained(dir));
        assertTrue(e.getMessage().contains("Precompiled"), e.getMessage());
        assertThrows(TokenizerException.class, () -> AutoTokenizer.fromPretrained(dir.resolve("missing")));
    }
}
