package dev.jformers.tokenizers;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The model folders of testdata/golden/pipelines load through {@link AutoTokenizer#fromPretrained} and give the
 * ids, tokens, type ids, offsets, windows and decoded strings recorded in their golden.json calls.
 */
class PipelineFoldersTest {
    private static final String[] FOLDERS = {"feature-extraction-bert", "fill-mask-bert", "fill-mask-roberta",
            "question-answering-bert", "text-classification-bert", "text-classification-bert-multilabel",
            "text-generation-gpt2", "token-classification-bert"};

    @Test
    void foldersLoadWithTheirSettings() {
        for (String f : FOLDERS) {
            Tokenizer t = TestData.pipeline(f);
            assertEquals(128, t.modelMaxLength(), f);
        }
        Tokenizer bert = TestData.pipeline("fill-mask-bert");
        assertEquals(30522, bert.vocabSize());
        assertEquals(101, bert.clsTokenId());
        assertEquals(102, bert.sepTokenId());
        assertEquals(0, bert.padTokenId());
        assertEquals(103, bert.maskTokenId());
        assertEquals(100, bert.unkTokenId());
        assertEquals(-1, bert.bosTokenId());
        Tokenizer roberta = TestData.pipeline("fill-mask-roberta");
        assertEquals(50265, roberta.vocabSize());
        assertEquals(0, roberta.clsTokenId());
        assertEquals(2, roberta.sepTokenId());
        assertEquals(1, roberta.padTokenId());
        assertEquals(50264, roberta.maskTokenId());
        assertTrue(roberta.addedTokens().stream().anyMatch(a -> a.content().equals("<mask>") && a.lstrip()));
        Tokenizer gpt2 = TestData.pipeline("text-generation-gpt2");
        assertEquals(50257, gpt2.vocabSize());
        assertEquals(50256, gpt2.eosTokenId());
        assertEquals(50256, gpt2.bosTokenId());
        assertEquals(-1, gpt2.padTokenId());
        assertEquals(0, gpt2.numSpecialTokensToAdd(false));
    }

    @TestFactory
    Stream<DynamicTest> recordedCalls() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String f : FOLDERS) {
            JsonNode golden = TestData.json("golden/pipelines/" + f + "/golden.json");
            for (JsonNode call : golden.path("calls")) {
                tests.add(DynamicTest.dynamicTest(f + " " + call.path("name").asText(), () -> checkCall(f, call)));
            }
        }
        return tests.stream();
    }

    private static void checkCall(String folder, JsonNode call) {
        Tokenizer t = TestData.pipeline(folder);
        JsonNode kwargs = call.path("call_kwargs");
        JsonNode inputs = call.path("inputs");
        String text = null;
        String pair = null;
        if (kwargs.has("question")) {
            text = kwargs.path("question").asText();
            pair = kwargs.path("context").asText();
        } else if (inputs.size() > 0 && inputs.get(0).isTextual()) {
            text = inputs.get(0).asText();
        } else if (inputs.size() > 0 && inputs.get(0).isObject()) {
            text = inputs.get(0).path("text").asText();
            pair = inputs.get(0).path("text_pair").asText();
        }
        if (text != null && call.has("input_ids")) {
            Encoding e = t.encode(text, pair);
            assertArrayEquals(TestData.ints(call.path("input_ids")), e.ids(), "input_ids");
            if (call.has("tokens")) {
                List<String> expected = new ArrayList<>();
                call.path("tokens").forEach(x -> expected.add(x.asText()));
                assertEquals(expected, e.tokens(), "tokens");
            }
            if (call.has("token_type_ids")) {
                assertArrayEquals(TestData.ints(call.path("token_type_ids")), e.typeIds(), "token_type_ids");
            }
        }
        // offsets a fast BERT tokenizer gives (token classification)
        JsonNode offsets = kwargs.has("offset_mapping") ? kwargs.path("offset_mapping") : call.path("offset_mapping");
        if (text != null && offsets.isArray()) {
            Encoding e = t.encode(text);
            int[][] expected = new int[offsets.size()][];
            for (int i = 0; i < expected.length; i++) expected[i] = TestData.ints(offsets.get(i));
            assertArrayEquals(expected, e.offsets(), "offset_mapping");
        }
        // fill-mask: token_str = decode([id]); sequence = decode(ids with the mask replaced, skip special tokens)
        if (folder.startsWith("fill-mask") && call.path("output").isArray() && text != null) {
            int[] ids = t.encode(text).ids();
            for (JsonNode o : call.path("output")) {
                int token = o.path("token").asInt();
                assertEquals(o.path("token_str").asText(), t.decode(new int[] {token}, false), "token_str");
                int[] filled = ids.clone();
                for (int i = 0; i < filled.length; i++) if (filled[i] == t.maskTokenId()) filled[i] = token;
                assertEquals(o.path("sequence").asText(), t.decode(filled, true), "sequence");
            }
        }
        if (call.has("target_tokenization")) {
            call.path("target_tokenization").properties().forEach(e -> {
                List<String> expected = new ArrayList<>();
                e.getValue().forEach(x -> expected.add(x.asText()));
                assertEquals(expected, t.tokenize(e.getKey()), "target " + e.getKey());
            });
        }
        // text generation: prompt ids, generated tokens, and the decoded texts
        if (call.has("prompt_ids")) {
            int[] prompt = TestData.ints(call.path("prompt_ids"));
            assertArrayEquals(prompt, t.encode(text).ids(), "prompt_ids");
            int[] newIds = TestData.ints(call.path("new_ids"));
            List<String> newTokens = new ArrayList<>();
            call.path("new_tokens").forEach(x -> newTokens.add(x.asText()));
            assertEquals(newTokens, t.convertIdsToTokens(newIds, false), "new_tokens");
        }
        if (folder.equals("text-generation-gpt2") && call.path("output").get(0).has("generated_text")) {
            JsonNode gen = TestData.json("golden/pipelines/" + folder + "/golden.json").path("calls");
            int[] all = null;
            for (JsonNode c : gen) {
                if (c.path("inputs").equals(inputs) && c.has("generate_ids")) all = TestData.ints(c.path("generate_ids"));
            }
            int[] prompt = t.encode(text).ids();
            int[] newIds = java.util.Arrays.copyOfRange(all, prompt.length, all.length);
            String expected = call.path("output").get(0).path("generated_text").asText();
            if (kwargs.path("return_full_text").asBoolean(true)) {
                String full = t.decode(all, true);
                String promptText = t.decode(prompt, true);
                assertEquals(expected, text + full.substring(promptText.length()), "full text");
            } else {
                assertEquals(expected, t.decode(newIds, true), "new text");
            }
        }
    }

    /** The long QA case: windows of 64 with 21 shared tokens, as squad_convert_examples_to_features made them. */
    @Test
    void questionAnsweringWindows() {
        JsonNode golden = TestData.json("golden/pipelines/question-answering-bert/golden.json");
        JsonNode call = null;
        for (JsonNode c : golden.path("calls")) {
            if (c.path("name").asText().equals("long_len64_stride32_top1")) call = c;
        }
        String question = call.path("call_kwargs").path("question").asText();
        String context = call.path("call_kwargs").path("context").asText();
        Tokenizer t = TestData.pipeline("question-answering-bert");
        int questionLen = t.tokenize(question).size();
        // squad_convert passes stride = max_seq_len - doc_stride - len(question) - 3 to the tokenizer
        int stride = 64 - 32 - questionLen - 3;
        Encoding e = t.encode(question, context, EncodeOptions.defaults().withMaxLength(64)
                .withTruncation(TruncationStrategy.ONLY_SECOND).withStride(stride).withReturnOverflowing(true)
                .withPadding(PaddingStrategy.MAX_LENGTH));
        List<Encoding> windows = new ArrayList<>();
        windows.add(e);
        windows.addAll(e.overflowing());
        JsonNode expected = golden.path("long_windows_len64_stride32").path("windows");
        assertEquals(expected.size(), windows.size(), "number of windows");
        for (int i = 0; i < windows.size(); i++) {
            JsonNode w = expected.get(i);
            assertArrayEquals(TestData.ints(w.path("input_ids")), windows.get(i).ids(), "window " + i);
            assertArrayEquals(TestData.ints(w.path("attention_mask")), windows.get(i).attentionMask(), "mask " + i);
            assertArrayEquals(TestData.ints(w.path("token_type_ids")), windows.get(i).typeIds(), "types " + i);
        }
    }

    @Test
    void everyFolderHasItsTokenizerFiles() {
        for (String f : FOLDERS) {
            Path dir = TestData.path("golden/pipelines/" + f);
            assertTrue(Files.isRegularFile(dir.resolve("tokenizer_config.json")), f);
        }
    }
}
