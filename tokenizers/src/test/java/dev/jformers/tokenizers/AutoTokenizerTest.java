package dev.jformers.tokenizers;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How AutoTokenizer picks the tokenizer and reads its settings. */
class AutoTokenizerTest {

    @Test
    void kindFromConfigJsonModelType(@TempDir Path dir) throws IOException {
        Files.copy(TestData.path("vocab/bert-base-uncased/vocab.txt"), dir.resolve("vocab.txt"));
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"distilbert\", \"max_position_embeddings\": 512}");
        Tokenizer t = AutoTokenizer.fromPretrained(dir);
        assertArrayEquals(new int[] {101, 7592, 2088, 102}, t.encode("Hello World").ids());
        assertEquals(Integer.MAX_VALUE, t.modelMaxLength()); // HF: no tokenizer_config, no limit

        Path g = dir.resolveSibling(dir.getFileName() + "-gpt2");
        Files.createDirectories(g);
        Files.copy(TestData.path("vocab/gpt2/vocab.json"), g.resolve("vocab.json"));
        Files.copy(TestData.path("vocab/gpt2/merges.txt"), g.resolve("merges.txt"));
        Files.writeString(g.resolve("config.json"), "{\"model_type\": \"gpt2\"}");
        Tokenizer gt = AutoTokenizer.fromPretrained(g);
        assertArrayEquals(new int[] {15496, 995}, gt.encode("Hello world").ids());
        Files.writeString(g.resolve("config.json"), "{\"model_type\": \"t5\"}");
        assertThrows(TokenizerException.class, () -> AutoTokenizer.fromPretrained(g));
    }

    @Test
    void tokenizerConfigSettings(@TempDir Path dir) throws IOException {
        Files.copy(TestData.path("vocab/bert-base-uncased/vocab.txt"), dir.resolve("vocab.txt"));
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"tokenizer_class": "BertTokenizer", "do_lower_case": false, "model_max_length": 1000000000000000019884624838656,
                 "padding_side": "left", "never_split": ["Hello!"]}""");
        Files.writeString(dir.resolve("added_tokens.json"), "{\"<ent>\": 30522}");
        Tokenizer t = AutoTokenizer.fromPretrained(dir);
        assertEquals(List.of("[UNK]", "world", "<ent>", "!", "[UNK]"), t.tokenize("Hello world<ent>! Hello!"));
        assertArrayEquals(new int[] {100, 2088, 30522}, t.encode("Hello world <ent>",
                EncodeOptions.defaults().withAddSpecialTokens(false)).ids());
        assertEquals(Integer.MAX_VALUE, t.modelMaxLength());
        assertEquals(30522, t.vocabSize());
        assertEquals(30523, t.size());
        Encoding padded = t.encode("world", EncodeOptions.defaults().withPadding(PaddingStrategy.MAX_LENGTH).withMaxLength(5));
        assertArrayEquals(new int[] {0, 0, 101, 2088, 102}, padded.ids()); // padding_side left
        // an added token (not in the vocabulary) is decoded on its own, separated by spaces
        assertEquals("world <ent>!", t.decode(new int[] {2088, 30522, 999}, false));
    }

    @Test
    void addPrefixSpace(@TempDir Path dir) throws IOException {
        Files.copy(TestData.path("vocab/roberta-base/vocab.json"), dir.resolve("vocab.json"));
        Files.copy(TestData.path("vocab/roberta-base/merges.txt"), dir.resolve("merges.txt"));
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"tokenizer_class\": \"RobertaTokenizer\", \"add_prefix_space\": true}");
        Tokenizer t = AutoTokenizer.fromPretrained(dir);
        Encoding e = t.encode("Hello world");
        assertEquals(List.of("<s>", "ĠHello", "Ġworld", "</s>"), e.tokens());
        // the added space stands for the first char: the first token keeps its start (HF's process_offsets)
        assertArrayEquals(new int[][] {{0, 0}, {0, 5}, {6, 11}, {0, 0}}, e.offsets());
        Encoding spaced = t.encode(" Hello", EncodeOptions.defaults().withAddSpecialTokens(false));
        assertEquals(List.of("ĠHello"), spaced.tokens());
        assertArrayEquals(new int[][] {{0, 6}}, spaced.offsets());
        assertEquals(List.of("ĠHello", "<mask>", "Ġworld"), t.tokenize("Hello <mask>world"));
    }

    @Test
    void mergesFileReadLikeHf(@TempDir Path dir) throws IOException {
        // HF: read().split("\n")[1:-1]: without a final newline the last merge is dropped
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 0, \"b\": 1, \"ab\": 2, \"c\": 3, \"abc\": 4}");
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\na b\nab c");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"tokenizer_class\": \"GPT2Tokenizer\"}");
        Tokenizer t = AutoTokenizer.fromPretrained(dir);
        assertEquals(List.of("ab", "c"), t.tokenize("abc"));
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\r\na b\r\nab c\r\n");
        assertEquals(List.of("abc"), AutoTokenizer.fromPretrained(dir).tokenize("abc"));
        // a byte with no token and no unknown token: a typed error, not a crash
        TokenizerException e = assertThrows(TokenizerException.class, () -> AutoTokenizer.fromPretrained(dir).tokenize("x"));
        assertTrue(e.getMessage().contains("0x78"), e.getMessage());
    }

    @Test
    void tokenizationOffsetsOfTheTokenClassificationGolden() {
        JsonNode golden = TestData.json("golden/pipelines/token-classification-bert/golden.json");
        Tokenizer t = TestData.pipeline("token-classification-bert");
        int checked = 0;
        for (JsonNode call : golden.path("calls")) {
            JsonNode offsets = call.path("call_kwargs").path("offset_mapping");
            if (!offsets.isArray()) continue;
            String text = call.path("inputs").get(0).asText();
            Encoding e = t.encode(text);
            assertEquals(offsets.size(), e.length());
            for (int i = 0; i < offsets.size(); i++) {
                assertArrayEquals(TestData.ints(offsets.get(i)), e.offsets()[i], call.path("name").asText() + " #" + i);
            }
            checked++;
        }
        assertTrue(checked >= 6, "offset calls checked: " + checked);
    }
}
