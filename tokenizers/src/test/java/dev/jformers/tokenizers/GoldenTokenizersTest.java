package dev.jformers.tokenizers;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** testdata/golden/tokenizers.json: transformers 4.28.1 slow tokenizers on 33 texts, four vocabularies. */
class GoldenTokenizersTest {
    private static final Map<String, Supplier<Tokenizer>> TOKENIZERS = Map.of(
            "bert_lowercase", TestData::bertUncased,
            "bert_no_lowercase", TestData::bertNoLowerCase,
            "gpt2", TestData::gpt2,
            "roberta", TestData::roberta);

    @TestFactory
    List<DynamicTest> everyTextEveryVocabulary() {
        JsonNode root = TestData.json("golden/tokenizers.json");
        List<DynamicTest> tests = new ArrayList<>();
        for (var entry : root.path("tokenizers").properties()) {
            String name = entry.getKey();
            Supplier<Tokenizer> tok = TOKENIZERS.get(name);
            if (tok == null) throw new AssertionError("no tokenizer for golden entry " + name);
            int index = 0;
            for (JsonNode c : entry.getValue().path("cases")) {
                String text = c.path("text").asText();
                int i = index++;
                tests.add(DynamicTest.dynamicTest(name + " #" + i + " " + TokenizerVectorsTest.abbreviate(text), () -> {
                    Tokenizer t = tok.get();
                    List<String> expectedTokens = new ArrayList<>();
                    c.path("tokens").forEach(x -> expectedTokens.add(x.asText()));
                    assertEquals(expectedTokens, t.tokenize(text), "tokens");
                    int[] ids = TestData.ints(c.path("ids"));
                    assertArrayEquals(ids, t.encode(text, EncodeOptions.defaults().withAddSpecialTokens(false)).ids(), "ids");
                    assertArrayEquals(ids, t.convertTokensToIds(expectedTokens), "convertTokensToIds");
                    assertArrayEquals(TestData.ints(c.path("ids_with_special_tokens")), t.encode(text).ids(),
                            "ids_with_special_tokens");
                    assertEquals(c.path("decoded").asText(), t.decode(ids, false), "decoded");
                }));
            }
        }
        return tests;
    }

    @Test
    void specialTokensMatchTheGolden() {
        JsonNode root = TestData.json("golden/tokenizers.json");
        for (var entry : root.path("tokenizers").properties()) {
            Tokenizer t = TOKENIZERS.get(entry.getKey()).get();
            for (var st : entry.getValue().path("special_tokens").properties()) {
                String token = st.getValue().get(0).asText();
                int id = st.getValue().get(1).asInt();
                assertEquals(token, t.specialToken(st.getKey()), entry.getKey() + " " + st.getKey());
                assertEquals(id, t.specialTokenId(st.getKey()), entry.getKey() + " " + st.getKey());
                assertEquals(id, t.tokenToId(token));
            }
        }
    }
}
