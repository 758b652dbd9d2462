package dev.jformers.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.Backend;
import dev.jformers.tokenizers.HfTokenizer;
import dev.jformers.tokenizers.TruncationStrategy;
import dev.jformers.tokenizers.EncodeOptions;
import dev.jformers.pipelines.TokenClassificationPipeline.AggregationStrategy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.List;
import java.util.stream.Stream;

import static dev.jformers.pipelines.PipelineGolden.assertJsonClose;
import static dev.jformers.pipelines.PipelineGolden.toJson;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * token-classification against HF 4.28. The goldens were made with a SLOW BERT tokenizer; we implement the FAST
 * path (offsets from the tokenizer). How each kind of call is checked:
 * <ul>
 *   <li>{@code *_emulated_fast} (HF's own code run with fast-tokenizer offsets and subword rule) and
 *       {@code *_offsets} (offsets passed to the pipeline): compared in full (entity, score, index, word, start,
 *       end); and our tokenizer's offsets must equal the recorded ones.</li>
 *   <li>{@code sN_none} / {@code sN_simple} (slow, no offsets): start/end are null in HF's output and ours are
 *       real offsets; everything else is compared.</li>
 *   <li>{@code sN_first} / {@code sN_average} / {@code sN_max}: HF's slow path raises "Slow tokenizers cannot handle
 *       subwords"; the fast path has no such error, so these are not comparable: the same strategies are compared
 *       with their {@code *_emulated_fast} entries instead, and here we only check that we answer.</li>
 * </ul>
 * Words: a real fast tokenizer's convert_tokens_to_string (the WordPiece decoder) also cleans up spaces before
 * punctuation (" ." → "."), which the recorded slow join does not; expected words get that clean-up applied.
 */
class TokenClassificationPipelineTest {
    static Backend backend;
    static TokenClassificationPipeline ner;

    @BeforeAll
    static void load() {
        backend = PipelineGolden.backend();
        ner = (TokenClassificationPipeline) Pipelines.pipeline("ner",
                PipelineGolden.dir("token-classification-bert").toString(), backend);
    }

    @AfterAll
    static void close() {
        ner.close();
        backend.close();
    }

    @TestFactory
    Stream<DynamicTest> golden() {
        return PipelineGolden.calls(PipelineGolden.golden("token-classification-bert")).stream().map(call ->
                DynamicTest.dynamicTest(call.get("name").asText(), () -> check(call)));
    }

    private static void check(JsonNode call) {
        String name = call.get("name").asText();
        String text = call.get("inputs").get(0).asText();
        JsonNode kw = call.get("call_kwargs");
        AggregationStrategy strategy = kw != null && kw.has("aggregation_strategy")
                ? AggregationStrategy.parse(kw.get("aggregation_strategy").asText())
                : AggregationStrategy.parse(name.replaceAll("^s\\d+_", "").replace("_emulated_fast", ""));
        TokenClassificationPipeline.Options o = TokenClassificationPipeline.Options.defaults().withAggregationStrategy(strategy);
        JsonNode actual = toJson(ner.call(text, o));

        if (call.has("error")) {
            // Slow-tokenizer error; the fast path answers (compared against *_emulated_fast).
            assertTrue(call.get("error").asText().contains("Slow tokenizers cannot handle subwords"), call.get("error").asText());
            assertTrue(actual.isArray() && !actual.isEmpty(), actual.toString());
            return;
        }
        JsonNode offsets = call.has("offset_mapping") ? call.get("offset_mapping")
                : kw != null && kw.has("offset_mapping") ? kw.get("offset_mapping") : null;
        JsonNode expected = cleanWords(call.get("output"));
        if (offsets != null) {
            assertOffsetsMatch(text, offsets);
        } else {
            // No offsets in the slow run: start/end are null there; drop them on both sides.
            expected = withoutOffsets(expected);
            actual = withoutOffsets(actual);
        }
        assertJsonClose(expected, actual, 1e-5, 1e-7);
    }

    /** Our tokenizer's offsets are the ones HF's emulation used (char spans of word pieces, (0,0) for specials). */
    private static void assertOffsetsMatch(String text, JsonNode offsets) {
        int[][] ours = ner.tokenizer().encode(text, EncodeOptions.defaults().withMaxLength(128)
                .withTruncation(TruncationStrategy.LONGEST_FIRST)).codePointOffsets(text);
        assertEquals(offsets.size(), ours.length, "token count");
        for (int i = 0; i < ours.length; i++) {
            assertEquals(offsets.get(i).get(0).asInt(), ours[i][0], "start of token " + i);
            assertEquals(offsets.get(i).get(1).asInt(), ours[i][1], "end of token " + i);
        }
    }

    private static JsonNode cleanWords(JsonNode entities) {
        ArrayNode out = entities.deepCopy();
        for (JsonNode e : out) {
            ((ObjectNode) e).put("word", HfTokenizer.cleanUpTokenization(e.get("word").asText()));
        }
        return out;
    }

    private static JsonNode withoutOffsets(JsonNode entities) {
        ArrayNode out = entities.deepCopy();
        for (JsonNode e : out) {
            ((ObjectNode) e).remove(List.of("start", "end"));
        }
        return out;
    }

    @Test
    void ignoreLabelsEmptyKeepsOTokens() {
        String text = "My name is Wolfgang and I live in Berlin.";
        List<TokenClassificationPipeline.Entity> all = ner.predict(text,
                TokenClassificationPipeline.Options.defaults().withIgnoreLabels(List.of()));
        // 11 word pieces, none special: every one comes back, "O" ones included.
        assertEquals(ner.tokenizer().encode(text).length() - 2, all.size());
        assertTrue(all.stream().anyMatch(e -> ((TokenClassificationPipeline.TokenEntity) e).entity().equals("O")));
    }

    @Test
    void ignoreLabelsDropsGroups() {
        String text = "My name is Wolfgang and I live in Berlin.";
        List<TokenClassificationPipeline.Entity> groups = ner.predict(text, TokenClassificationPipeline.Options.defaults()
                .withAggregationStrategy(AggregationStrategy.SIMPLE).withIgnoreLabels(List.of("O", "PER")));
        assertFalse(groups.isEmpty());
        groups.forEach(g -> assertEquals("LOC", ((TokenClassificationPipeline.EntityGroup) g).entityGroup()));
    }

    @Test
    void groupedStartEndCoverTheText() {
        String text = "Sarah Johnson-Smith flew from Reykjavik to Ouagadougou, unbelievably fast!";
        for (AggregationStrategy s : List.of(AggregationStrategy.FIRST, AggregationStrategy.AVERAGE, AggregationStrategy.MAX)) {
            for (TokenClassificationPipeline.Entity e : ner.predict(text, TokenClassificationPipeline.Options.defaults()
                    .withAggregationStrategy(s).withIgnoreLabels(List.of()))) {
                // Word strategies never split a word: each group is whole words of the text.
                String span = text.substring(e.start(), e.end());
                assertEquals(span.toLowerCase().replace(" ", ""), e.word().replace(" ", ""), s + " " + e);
            }
        }
    }

    @Test
    void legacyGroupingOptionsPickTheStrategy() {
        TokenClassificationPipeline.Options d = TokenClassificationPipeline.Options.defaults();
        assertEquals(AggregationStrategy.FIRST, d.withLegacyGrouping(true, true).aggregationStrategy());
        assertEquals(AggregationStrategy.SIMPLE, d.withLegacyGrouping(true, null).aggregationStrategy());
        assertEquals(AggregationStrategy.NONE, d.withAggregationStrategy(AggregationStrategy.MAX)
                .withLegacyGrouping(false, true).aggregationStrategy());
        assertEquals(AggregationStrategy.MAX, d.withAggregationStrategy(AggregationStrategy.MAX)
                .withLegacyGrouping(null, null).aggregationStrategy());
    }

    @Test
    void listOfTextsGivesOneListPerText() {
        JsonNode j = toJson(ner.call(List.of("Hello Berlin.", "Hi Paris."), TokenClassificationPipeline.Options.defaults()));
        assertEquals(2, j.size());
        assertTrue(j.get(0).isArray());
    }

    /** HF's aggregate_overlapping_entities on hand-made entities: sorted by start, the longer wins, then the higher score. */
    @Test
    void overlappingEntitiesOfWindowsMergeAsHfDoes() {
        var a = new TokenClassificationPipeline.EntityGroup("PER", 0.9f, "wolfgang", 11, 19);
        var aLonger = new TokenClassificationPipeline.EntityGroup("PER", 0.5f, "wolfgang and", 11, 23);
        var b = new TokenClassificationPipeline.EntityGroup("LOC", 0.6f, "berlin", 34, 40);
        var bBetter = new TokenClassificationPipeline.EntityGroup("LOC", 0.7f, "berlin", 34, 40);
        var c = new TokenClassificationPipeline.EntityGroup("LOC", 0.8f, "my", 0, 2);
        assertEquals(List.of(c, aLonger, bBetter),
                TokenClassificationPipeline.aggregateOverlappingEntities(List.of(a, b, c, aLonger, bBetter)));
        // equal length and score: the first (by start, then input order) stays
        assertEquals(List.of(b), TokenClassificationPipeline.aggregateOverlappingEntities(List.of(b, b)));
    }

    /**
     * HF's stride: windows of max_length tokens (here 16 via max_length, 14 without [CLS]/[SEP]), each opening with the
     * last {@code stride} tokens of the one before, cover the whole text; entities come back sorted, without
     * overlaps, within the text; a text that fits one window gives what it gives without a stride.
     */
    @Test
    void strideLabelsAllOfALongText() {
        String text = "My name is Wolfgang and I live in Berlin. Sarah Johnson-Smith flew from Reykjavik to Ouagadougou.";
        var first = TokenClassificationPipeline.Options.defaults().withAggregationStrategy(AggregationStrategy.FIRST)
                .withIgnoreLabels(List.of());
        try (TokenClassificationPipeline p = (TokenClassificationPipeline) Pipelines.pipeline("ner",
                PipelineGolden.dir("token-classification-bert").toString(), backend)) {
            assertEquals(p.predict(text, first).toString(), p.predict(text, first.withStride(4)).toString(), "one window");
            p.setTruncation(null, 16);
            List<dev.jformers.tokenizers.Encoding> windows = p.windows(text, first.withStride(4));
            int[] all = p.tokenizer().encode(text, EncodeOptions.defaults().withAddSpecialTokens(false)).ids();
            assertEquals((int) Math.ceil((all.length - 4) / 10.0), windows.size());
            for (int w = 0; w < windows.size(); w++) {
                int[] ids = windows.get(w).ids();
                int from = w * 10;
                assertArrayEquals(java.util.Arrays.copyOfRange(all, from, Math.min(all.length, from + 14)),
                        java.util.Arrays.copyOfRange(ids, 1, ids.length - 1), "window " + w);
            }
            List<TokenClassificationPipeline.Entity> cut = p.predict(text, first);
            List<TokenClassificationPipeline.Entity> strided = p.predict(text, first.withStride(4));
            assertEquals(61, cut.getLast().end(), "without a stride the text is cut at 16 tokens, after 'Smith'");
            assertEquals(text.length(), strided.getLast().end(), "the last word ('Ouagadougou.') is labelled");
            for (int i = 0; i < strided.size(); i++) {
                var e = strided.get(i);
                assertEquals(text.substring(e.start(), e.end()).toLowerCase().replace(" ", ""), e.word().replace(" ", ""));
                if (i > 0) {
                    assertTrue(strided.get(i - 1).end() <= e.start(), "no overlap: " + strided);
                }
            }
            // the first window's entities that end before the second window starts are the cut text's
            assertEquals(cut.getFirst().toString(), strided.getFirst().toString());
        }
        assertThrows(PipelineException.class, () -> TokenClassificationPipeline.Options.defaults().withStride(4));
    }
}
