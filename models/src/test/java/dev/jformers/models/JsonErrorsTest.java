package dev.jformers.models;

import dev.jformers.models.generation.GenerationConfig;
import dev.jformers.tokenizers.AutoTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A broken config.json, generation_config.json, tokenizer.json or vocab.json is one line naming the file, the line
 * and the column, in plain words (dev.jformers.core.JsonErrors), not Jackson's ("code 44", "JSON String, Number…").
 */
public class JsonErrorsTest {
    static String message(Executable call) {
        return oneLineMessage(call, "code ", "JSON String", "Source:", "REDACTED", "token '");
    }

    /** The message of the exception that call throws: one line, and none of the given parser wordings in it. */
    public static String oneLineMessage(Executable call, String... parserWords) {
        String m = assertThrows(RuntimeException.class, call).getMessage();
        assertEquals(1, m.lines().count(), m);
        for (String word : parserWords) {
            assertFalse(m.contains(word), m);
        }
        return m;
    }

    @Test
    void brokenJsonFilesNameFileLineAndColumn(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("config.json");
        Files.writeString(config, "{\n  \"model_type\": \"bert\",\n  \"hidden_size\": 32,,\n}\n");
        assertEquals(config + ": line 3, column 21: not valid JSON (unexpected character ',')",
                message(() -> AutoConfig.fromPretrained(dir)));

        Files.writeString(config, "{\"model_type\": \"gpt2\"}");
        Path generation = dir.resolve("generation_config.json");
        Files.writeString(generation, "{\"max_length\": oops}");
        assertEquals(generation + ": line 1, column 16: not valid JSON (unexpected word 'oops')",
                message(() -> GenerationConfig.fromPretrained(dir)));

        Path tokenizer = dir.resolve("tokenizer.json");
        Files.writeString(tokenizer, "{\"model\": {\"type\": \"WordPiece\",\n");
        assertEquals(tokenizer + ": line 2, column 1: not valid JSON (the text ends before the JSON does)",
                message(() -> AutoTokenizer.fromPretrained(dir)));

        Files.delete(tokenizer);
        Path vocab = dir.resolve("vocab.json");
        Files.write(vocab, "{\"caf\u00e9\": 0}".getBytes(StandardCharsets.ISO_8859_1));
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        String m = message(() -> AutoTokenizer.fromPretrained(dir));
        // Jackson notices a bad byte a little after it
        assertEquals(vocab + ": line 1, column N: not valid JSON (bytes that are not UTF-8)", m.replaceAll("column \\d+", "column N"));
    }
}
