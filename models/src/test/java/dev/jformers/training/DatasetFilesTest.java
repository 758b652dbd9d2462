package dev.jformers.training;

import dev.jformers.models.JsonErrorsTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Bad training data is one line naming the file, the line and what was expected, in the project's words
 * (dev.jformers.core.JsonErrors), never Jackson's ("code 44", "Cannot deserialize", "Source:") and never a
 * wrong-typed value read as an empty string.
 */
class DatasetFilesTest {
    static String message(Executable call) {
        return JsonErrorsTest.oneLineMessage(call, "code ", "JSON String", "Source:", "Cannot deserialize", "token '", "`");
    }

    @Test
    void malformedJsonLineNamesFileLineAndColumn(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("train.jsonl");
        Files.writeString(f, "{\"text\": \"a\", \"label\": \"x\"}\n\n{\"text\": \"b\", \"label\": \"y\",}\n");
        assertEquals(f + ": line 3, column 28: not valid JSON (unexpected character '}')",
                message(() -> DatasetFiles.read(f)));
        Files.writeString(f, "{\"text\": \"a\"}\n\"just a string\"\n");
        assertEquals(f + ": line 2: expected a JSON object ({\"column\": value, ...}), got string",
                message(() -> DatasetFiles.read(f)));
    }

    @Test
    void jsonArrayRowsKeepTheirLines(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("train.json");
        Files.writeString(f, "[\n  {\"text\": \"a\"},\n\n  {\"text\": [\"b\"]}\n]\n");
        List<DatasetFiles.Row> rows = DatasetFiles.read(f);
        assertEquals(List.of(2, 4), rows.stream().map(DatasetFiles.Row::line).toList());
        assertEquals(f + ": line 4: 'text' holds a list where a string was expected",
                message(() -> rows.get(1).text("text")));
        Files.writeString(f, "[\n  {\"text\": \"a\"},\n  {\"text\" \"b\"}\n]\n");
        assertEquals(f + ": line 3, column 11: not valid JSON (unexpected character '\"')", message(() -> DatasetFiles.read(f)));
    }

    @Test
    void wrongTypesAndMissingColumnsNameTheLine(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("d.jsonl");
        Files.writeString(f, """
                {"text": "fine", "label": 1, "tokens": ["a", "b"], "tags": ["O", {"x": 1}]}
                {"text": {"nested": true}, "label": "spam"}
                {"sentence": "no text column", "label": "ham"}
                """);
        List<DatasetFiles.Row> rows = DatasetFiles.read(f);
        assertEquals("1", rows.get(0).text("label"));                        // a numeric label is its text, as HF's ClassLabel ints
        assertEquals(f + ": line 1: 'tags'[1] holds an object where a string was expected",
                message(() -> rows.get(0).text(rows.get(0).list("tags").get(1), "'tags'[1]")));
        assertEquals(f + ": line 1: 'text' holds the string \"fine\" where a list was expected",
                message(() -> rows.get(0).list("text")));
        assertEquals(f + ": line 2: 'text' holds an object where a string was expected", message(() -> rows.get(1).text("text")));
        assertEquals(f + ": line 3: no column 'text' (the row has [sentence, label]; name the columns with --text-column, "
                + "--text-pair-column, --label-column)", message(() -> rows.get(2).text("text")));
    }

    @Test
    void taskColumnsOfTheWrongShapeNameTheLine(@TempDir Path tmp) throws Exception {
        var tokenizer = MetricsAndCollatorsTest.bertTokenizer();
        Path qa = tmp.resolve("qa.jsonl");
        Files.writeString(qa, """
                {"question": "Who?", "context": "Ahab.", "answers": {"text": ["Ahab"], "answer_start": [0]}}
                {"question": "Who?", "context": "Ahab.", "answers": {"text": ["Ahab"], "answer_start": ["zero"]}}
                """);
        assertEquals(qa + ": line 2: 'answers'.answer_start[0] holds the string \"zero\" where an integer was expected",
                message(() -> TaskData.qaFeatures(DatasetFiles.read(qa), MetricsAndCollatorsTest.options(24), tokenizer, true, qa)));
        Files.writeString(qa, "{\"question\": \"Who?\", \"context\": \"Ahab.\", \"answers\": {\"text\": \"Ahab\", \"answer_start\": 0}}\n");
        assertEquals(qa + ": line 1: 'answers' must be {\"text\": [...], \"answer_start\": [...]} with lists of the same length",
                message(() -> TaskData.qaFeatures(DatasetFiles.read(qa), MetricsAndCollatorsTest.options(24), tokenizer, true, qa)));

        Path ner = tmp.resolve("ner.jsonl");
        Files.writeString(ner, "{\"tokens\": \"Ahab sails\", \"ner_tags\": [\"B-PER\", \"O\"]}\n");
        assertEquals(ner + ": line 1: 'tokens' holds the string \"Ahab sails\" where a list was expected",
                message(() -> TaskData.encodeWords(DatasetFiles.read(ner), MetricsAndCollatorsTest.options(24), "tokens",
                        "ner_tags", tokenizer, java.util.Map.of("B-PER", 0, "O", 1), true, ner, new int[1])));
    }

    @Test
    void bytesThatAreNotUtf8NameTheLine(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("d.csv");
        Files.write(f, "text,label\nok,a\ncaf\u00e9,b\n".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(f + ": line 3: bytes that are not UTF-8 (save the file as UTF-8)", message(() -> DatasetFiles.read(f)));
        assertEquals(tmp.resolve("none.txt") + ": no such file", message(() -> DatasetFiles.readText(tmp.resolve("none.txt"))));
    }

    @Test
    void trainingArgumentsAndTrainerStateSayWhichFieldIsWrong(@TempDir Path tmp) throws Exception {
        assertEquals(0.001, TrainingArguments.fromJson("{\"learning_rate\": 1e-3, \"output_dir\": \"o\"}").learningRate);
        assertEquals("training_args.json: line 2, column 19: \"learning_rate\" must be a number, not the string \"fast\"",
                message(() -> TrainingArguments.fromJson("{\"output_dir\": \"o\",\n \"learning_rate\": \"fast\"}")));
        assertEquals("training_args.json: line 1, column 15: \"max_steps\" must be an integer, not a list",
                message(() -> TrainingArguments.fromJson("{\"max_steps\": [3]}")));
        assertEquals("training_args.json: line 1, column 13: not valid JSON (unexpected word 'yes')",
                message(() -> TrainingArguments.fromJson("{\"shuffle\": yes}")));
        assertEquals("training_args.json: line 1, column 1: expected a JSON object",
                message(() -> TrainingArguments.fromJson("[1]")));
        Path state = tmp.resolve("trainer_state.json");
        Files.writeString(state, "{\"global_step\": \"three\"}");
        assertEquals(state + ": line 1, column 17: \"global_step\" must be an integer, not the string \"three\"",
                message(() -> TrainerState.read(state)));
    }
}
