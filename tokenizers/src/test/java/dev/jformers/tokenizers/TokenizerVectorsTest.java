package dev.jformers.tokenizers;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** llama.cpp's tokenizer test vectors (ids without special tokens, produced with HF tokenizers). */
class TokenizerVectorsTest {

    @TestFactory
    List<DynamicTest> gpt2() {
        return vectors("gpt2", TestData::gpt2);
    }

    @TestFactory
    List<DynamicTest> bertUncased() {
        return vectors("bert-uncased", TestData::bertUncased);
    }

    @TestFactory
    List<DynamicTest> roberta() {
        return vectors("roberta", TestData::roberta);
    }

    private static List<DynamicTest> vectors(String name, Supplier<Tokenizer> tokenizer) {
        String inp = TestData.read("tokenizer-vectors/" + name + ".inp");
        List<String> texts = new ArrayList<>(Arrays.asList(inp.split("\n__ggml_vocab_test__\n", -1)));
        if (!texts.isEmpty() && texts.getLast().isEmpty()) texts.removeLast();
        String[] lines = TestData.read("tokenizer-vectors/" + name + ".out").split("\n", -1);
        assertEquals(46, texts.size(), "texts in " + name + ".inp");
        List<DynamicTest> tests = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            String line = lines[i].strip();
            int[] expected = line.isEmpty() ? new int[0]
                    : Arrays.stream(line.split("\\s+")).mapToInt(Integer::parseInt).toArray();
            int index = i;
            tests.add(DynamicTest.dynamicTest(name + " #" + i + " " + abbreviate(text), () -> {
                Encoding e = tokenizer.get().encode(text, EncodeOptions.defaults().withAddSpecialTokens(false));
                assertArrayEquals(expected, e.ids(), () -> name + " text #" + index + " " + abbreviate(text)
                        + " tokens " + e.tokens());
            }));
        }
        return tests;
    }

    static String abbreviate(String s) {
        String t = s.replace("\n", "\\n").replace("\t", "\\t");
        return "\"" + (t.length() > 40 ? t.substring(0, 40) + "…" : t) + "\"";
    }
}
