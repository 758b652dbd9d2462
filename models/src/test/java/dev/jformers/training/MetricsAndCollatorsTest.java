package dev.jformers.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.models.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The metrics against values worked out by hand (and by seqeval / the SQuAD script / scikit-learn on the same
 * inputs), the collators' padding and masking, and the dataset readers.
 */
class MetricsAndCollatorsTest {

    @Test
    void accuracyAndMacroF1() {
        int[] truth = {0, 0, 1, 1, 2}, pred = {0, 1, 1, 1, 0};
        assertEquals(0.6, Metrics.accuracy(pred, truth), 1e-12);
        // class 0: tp 1 fp 1 fn 1 -> 0.5; class 1: tp 2 fp 1 fn 0 -> 0.8; class 2: tp 0 -> 0; mean 0.4333…
        assertEquals((0.5 + 0.8 + 0) / 3, Metrics.macroF1(pred, truth), 1e-12);
        // a class only predicted counts (sklearn's labels = union of y_true and y_pred)
        assertEquals((2.0 / 3 + 0) / 2, Metrics.macroF1(new int[] {0, 1}, new int[] {0, 0}), 1e-12);
    }

    @Test
    void seqevalEntitiesAsSeqevalFindsThem() {
        // seqeval.metrics.sequence_labeling.get_entities on the same tags
        assertEquals(List.of(new Metrics.Entity("PER", 0, 1), new Metrics.Entity("LOC", 3, 3)),
                Metrics.entities(List.of(List.of("B-PER", "I-PER", "O", "B-LOC"))));
        // an I- after O starts an entity (IOB1 leniency); a type change ends one
        assertEquals(List.of(new Metrics.Entity("PER", 1, 1), new Metrics.Entity("LOC", 2, 2)),
                Metrics.entities(List.of(List.of("O", "I-PER", "I-LOC"))));
        // sentences are separated: an entity at the end of one does not run into the next
        assertEquals(List.of(new Metrics.Entity("PER", 0, 0), new Metrics.Entity("PER", 2, 2)),
                Metrics.entities(List.of(List.of("B-PER"), List.of("I-PER"))));
    }

    @Test
    void seqevalScoresByHand() {
        List<List<String>> truth = List.of(List.of("B-PER", "I-PER", "O", "B-LOC"), List.of("B-ORG", "O"));
        List<List<String>> pred = List.of(List.of("B-PER", "I-PER", "O", "B-PER"), List.of("B-ORG", "I-ORG"));
        // truth: PER(0,1) LOC(3,3) ORG(5,5); predicted: PER(0,1) PER(3,3) ORG(5,6): one right of 3 and 3
        Map<String, Double> m = Metrics.seqeval(truth, pred);
        assertEquals(1.0 / 3, m.get("precision"), 1e-12);
        assertEquals(1.0 / 3, m.get("recall"), 1e-12);
        assertEquals(1.0 / 3, m.get("f1"), 1e-12);
        assertEquals(4.0 / 6, m.get("accuracy"), 1e-12);
        Map<String, Double> none = Metrics.seqeval(List.of(List.of("O")), List.of(List.of("O")));
        assertEquals(0.0, none.get("f1"));              // seqeval: no entities at all gives 0 (with a warning)
    }

    @Test
    void squadExactMatchAndF1AsTheScript() {
        assertEquals("eiffel tower", Metrics.normalizeAnswer("The  Eiffel Tower!"));
        assertEquals(1.0, Metrics.exactMatch("the Eiffel tower", List.of("Eiffel Tower.", "Paris")));
        assertEquals(0.0, Metrics.exactMatch("Eiffel", List.of("Eiffel Tower")));
        // "eiffel" vs "eiffel tower": precision 1, recall 1/2 -> 2/3; the best gold answer counts
        assertEquals(2.0 / 3, Metrics.f1("Eiffel", List.of("Eiffel Tower", "Tokyo")), 1e-12);
        assertEquals(0.0, Metrics.f1("the", List.of("a")), 0.0);   // both normalise to nothing shared
        // repeated tokens count once per occurrence (Counter intersection)
        assertEquals(2 * (0.5 * 1.0) / 1.5, Metrics.f1("paris paris", List.of("paris")), 1e-12);
        Map<String, Double> m = Metrics.squad(List.of("Eiffel Tower", "Eiffel"), List.of(List.of("Eiffel Tower"),
                List.of("Eiffel Tower")));
        assertEquals(50.0, m.get("exact_match"), 1e-9);
        assertEquals(100 * (1 + 2.0 / 3) / 2, m.get("f1"), 1e-9);
    }

    static ObjectNode row(int... ids) {
        ObjectNode r = Golden.JSON.createObjectNode();
        ArrayNode a = r.putArray("input_ids");
        for (int id : ids) {
            a.add(id);
        }
        return r;
    }

    @Test
    void dynamicPaddingPadsEachBatchToItsLongestRow() {
        ObjectNode a = row(101, 7, 102).put("labels", 1), b = row(101, 102).put("labels", 0);
        ObjectNode t1 = row(101, 7, 102), t2 = row(101, 102);
        t1.putArray("labels").add(-100).add(3).add(-100);
        t2.putArray("labels").add(-100).add(-100);
        DataCollatorWithPadding c = new DataCollatorWithPadding(0);
        Batch batch = c.collate(List.of(a, b), new Random(0));
        assertArrayEquals(new long[] {101, 7, 102, 101, 102, 0}, batch.input().inputIds().toLongArray());
        assertArrayEquals(new long[] {1, 1, 1, 1, 1, 0}, batch.input().attentionMask().toLongArray());
        assertArrayEquals(new long[] {1, 0}, batch.labels().labels().toLongArray());
        Batch tokens = c.collate(List.of(t1, t2), new Random(0));
        assertArrayEquals(new long[] {-100, 3, -100, -100, -100, -100}, tokens.labels().labels().toLongArray());
    }

    @Test
    void maskedLmMasks15PercentAsBertDid() {
        int mask = 103, vocab = 1000;
        int[] special = {0, 101, 102};
        DataCollatorForLanguageModeling c = new DataCollatorForLanguageModeling(true, 0.15, 0, mask, vocab, special);
        int chosen = 0, masked = 0, random = 0, kept = 0, tokens = 0;
        Random rng = new Random(7);
        for (int n = 0; n < 200; n++) {
            int[] ids = new int[64];
            ids[0] = 101;
            ids[63] = 102;
            for (int i = 1; i < 63; i++) {
                ids[i] = 1000 - 1 - i;       // never a special id
            }
            Batch b = c.collate(List.of(row(ids)), rng);
            long[] in = b.input().inputIds().toLongArray(), labels = b.labels().labels().toLongArray();
            assertEquals(-100, labels[0], "[CLS] is never masked");
            assertEquals(-100, labels[63], "[SEP] is never masked");
            assertEquals(101, in[0]);
            for (int i = 1; i < 63; i++) {
                tokens++;
                if (labels[i] == -100) {
                    assertEquals(ids[i], in[i], "an unchosen token is unchanged");
                    continue;
                }
                assertEquals(ids[i], labels[i], "the label is the original id");
                chosen++;
                if (in[i] == mask) {
                    masked++;
                } else if (in[i] == ids[i]) {
                    kept++;
                } else {
                    random++;
                }
            }
        }
        // 12,400 tokens: 15% ± 1%, and of the chosen 80 / 10 / 10 ± 3% (random may hit the original: ≪ 1%)
        assertEquals(0.15, (double) chosen / tokens, 0.01);
        assertEquals(0.8, (double) masked / chosen, 0.03);
        assertEquals(0.1, (double) random / chosen, 0.03);
        assertEquals(0.1, (double) kept / chosen, 0.03);
    }

    /** Whole-word masking: a word's tokens are chosen together, about 15% of the row, never the specials. */
    @Test
    void wholeWordMaskingChoosesWholeWords() {
        boolean[] continuation = new boolean[1000];
        for (int id = 500; id < 1000; id++) {
            continuation[id] = true;                    // ids ≥ 500 play "##piece"
        }
        DataCollatorForLanguageModeling c = new DataCollatorForLanguageModeling(true, 0.15, 0, 103, 1000,
                new int[] {0, 101, 102}).wholeWordMask(continuation);
        int[] ids = new int[62];
        ids[0] = 101;
        ids[61] = 102;
        for (int i = 1; i < 61; i++) {
            ids[i] = i % 3 == 1 ? 200 + i : 500 + i;     // words of three tokens: head, ##, ##
        }
        Random rng = new Random(3);
        for (int n = 0; n < 50; n++) {
            long[] labels = c.collate(List.of(row(ids)), rng).labels().labels().toLongArray();
            assertEquals(-100, labels[0]);
            assertEquals(-100, labels[61]);
            int chosen = 0;
            for (int i = 1; i < 61; i += 3) {
                boolean head = labels[i] != -100;
                assertEquals(head, labels[i + 1] != -100, "a word is chosen whole");
                assertEquals(head, labels[i + 2] != -100, "a word is chosen whole");
                chosen += head ? 3 : 0;
            }
            assertEquals(9, chosen, "round(62 * 0.15) = 9 tokens: three words");
        }
    }

    @Test
    void causalLmLabelsAreTheInputsWithPaddingIgnored() {
        DataCollatorForLanguageModeling c = new DataCollatorForLanguageModeling(false, 0, 50256, -1, 50257, new int[0]);
        Batch b = c.collate(List.of(row(5, 6, 7), row(8)), new Random(0));
        assertArrayEquals(new long[] {5, 6, 7, 8, 50256, 50256}, b.input().inputIds().toLongArray());
        assertArrayEquals(new long[] {5, 6, 7, 8, -100, -100}, b.labels().labels().toLongArray());
    }

    @Test
    void csvQuotingAndErrorsNameTheLine(@TempDir Path tmp) throws Exception {
        Path csv = tmp.resolve("d.csv");
        Files.writeString(csv, "text,label\n\"a, \"\"quoted\"\"\nline\",spam\nplain,ham\r\n");
        List<DatasetFiles.Row> rows = DatasetFiles.read(csv);
        assertEquals(2, rows.size());
        assertEquals("a, \"quoted\"\nline", rows.get(0).values().get("text").asText());
        assertEquals(4, rows.get(1).line());
        Files.writeString(csv, "text,label\na,b,c\n");
        assertTrue(assertThrows(RuntimeException.class, () -> DatasetFiles.read(csv)).getMessage().contains("d.csv: line 2:"));
        Path json = tmp.resolve("d.jsonl");
        Files.writeString(json, "{\"text\": \"x\"}\n[1, 2]\n");
        assertTrue(assertThrows(RuntimeException.class, () -> DatasetFiles.read(json)).getMessage()
                .contains("d.jsonl: line 2: expected a JSON object"));
    }

    @Test
    void squadLayoutIsFlattenedToOneRowPerQuestion(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("squad.json");
        Files.writeString(f, """
                {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "Paris is in France.",
                 "qas": [{"id": "q1", "question": "Where is Paris?", "answers": [{"text": "France", "answer_start": 12}]},
                         {"id": "q2", "question": "What is in France?", "answers": [{"text": "Paris", "answer_start": 0}]}]}]}]}
                """);
        List<DatasetFiles.Row> rows = DatasetFiles.read(f);
        assertEquals(2, rows.size());
        assertEquals("France", rows.get(0).values().get("answers").get("text").get(0).asText());
        assertEquals(12, rows.get(0).values().get("answers").get("answer_start").get(0).asInt());
        assertEquals("Paris is in France.", rows.get(1).values().get("context").asText());
    }

    static dev.jformers.tokenizers.Tokenizer bertTokenizer() {
        return dev.jformers.tokenizers.AutoTokenizer.fromPretrained(Golden.testdata().resolve("golden/pipelines/feature-extraction-bert"));
    }

    static TaskData.Options options(int maxLength) {
        return new TaskData.Options(null, null, null, null, null, null, null, maxLength, null, 0.15, "tokens", null,
                "ner_tags", 42);
    }

    /** run_qa.py's windows over a long context: the answer's tokens where it is whole, [CLS] where it is not. */
    @Test
    void questionAnsweringFeaturesMapTheAnswerThroughTheOffsets(@TempDir Path tmp) throws Exception {
        var tokenizer = bertTokenizer();
        String context = "The old harbour was quiet that winter. Ships waited for spring. The captain, whose name was "
                + "Ahab, walked the deck every night and looked at the sea. Nobody knew what he was waiting for.";
        int start = context.indexOf("Ahab");
        Path f = tmp.resolve("qa.jsonl");
        ObjectNode row = Golden.JSON.createObjectNode().put("question", "  What was the captain's name?")
                .put("context", context);
        row.putObject("answers").<ObjectNode>set("text", Golden.JSON.createArrayNode().add("Ahab"))
                .set("answer_start", Golden.JSON.createArrayNode().add(start));
        Files.writeString(f, row + "\n");
        List<ObjectNode> features = TaskData.qaFeatures(DatasetFiles.read(f), options(24), tokenizer, true, f);
        assertTrue(features.size() >= 3, "several windows: " + features.size());
        int withAnswer = 0;
        for (ObjectNode feature : features) {
            int s = feature.get("start_positions").asInt(), e = feature.get("end_positions").asInt();
            int[] ids = new int[feature.get("input_ids").size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = feature.get("input_ids").get(i).asInt();
            }
            assertTrue(ids.length <= 24);
            if (s == 0) {
                assertEquals(0, e, "an answer outside the window points both ends at [CLS]");
                continue;
            }
            withAnswer++;
            assertEquals("ahab", tokenizer.decode(java.util.Arrays.copyOfRange(ids, s, e + 1), true));
            JsonNode off = feature.get("offset_mapping");
            assertEquals("Ahab", context.substring(off.get(s).get(0).asInt(), off.get(e).get(1).asInt()));
        }
        assertTrue(withAnswer >= 1 && withAnswer < features.size(), withAnswer + " of " + features.size());
        // the best span of the features, mapped back to text, scores 100 against the gold answer
        Metrics.QuestionAnswering metric = new Metrics.QuestionAnswering(List.of(context), List.of(List.of("Ahab")), 20, 30);
        for (ObjectNode feature : features) {
            int t = feature.get("input_ids").size();
            float[] sl = new float[t], el = new float[t];
            int s = feature.get("start_positions").asInt(), e = feature.get("end_positions").asInt();
            sl[s] = s == 0 ? 1 : 5;
            el[e] = e == 0 ? 1 : 5;
            dev.jformers.models.ModelOutput out = new dev.jformers.models.ModelOutput()
                    .put("start_logits", dev.jformers.core.Tensor.of(sl, 1, t)).put("end_logits", dev.jformers.core.Tensor.of(el, 1, t));
            metric.add(List.of(feature), null, out);
        }
        assertEquals(100.0, metric.compute().get("exact_match"));
    }

    /** run_ner.py's alignment: the first token of each word carries its tag, the others and the specials −100. */
    @Test
    void tokenClassificationLabelsTheFirstTokenOfEachWord(@TempDir Path tmp) throws Exception {
        var tokenizer = bertTokenizer();
        Path f = tmp.resolve("ner.jsonl");
        Files.writeString(f, "{\"tokens\": [\"Ishmael\", \"sailed\", \"from\", \"Nantucket\"], "
                + "\"ner_tags\": [\"B-PER\", \"O\", \"O\", \"B-LOC\"]}\n");
        Map<String, Integer> label2id = new java.util.LinkedHashMap<>(Map.of("B-LOC", 0, "B-PER", 1, "O", 2));
        List<ObjectNode> rows = TaskData.encodeWords(DatasetFiles.read(f), options(128), "tokens", "ner_tags", tokenizer,
                label2id, true, f, new int[1]);
        JsonNode ids = rows.getFirst().get("input_ids"), labels = rows.getFirst().get("labels");
        List<String> tokens = tokenizer.convertIdsToTokens(java.util.stream.StreamSupport.stream(ids.spliterator(), false)
                .mapToInt(JsonNode::asInt).toArray(), false);
        StringBuilder got = new StringBuilder();
        for (int i = 0; i < tokens.size(); i++) {
            got.append(tokens.get(i)).append('=').append(labels.get(i).asInt()).append(' ');
        }
        String expected = got.toString();
        assertTrue(tokens.size() > 6, "some words have several tokens: " + tokens);
        assertEquals(-100, labels.get(0).asInt(), expected);
        assertEquals(-100, labels.get(tokens.size() - 1).asInt(), expected);
        int firsts = 0;
        for (int i = 1; i < tokens.size() - 1; i++) {
            boolean continuation = tokens.get(i).startsWith("##");
            assertEquals(continuation, labels.get(i).asInt() == -100, expected);
            firsts += continuation ? 0 : 1;
        }
        assertEquals(4, firsts, expected);
        assertEquals(1, labels.get(1).asInt(), expected);   // ishmael: B-PER
    }
}
