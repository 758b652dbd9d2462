package dev.jformers.tokenizers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Locates the shared test data ({@code -Djformers.testdata}, else ../testdata) and caches loaded tokenizers. */
final class TestData {
    private TestData() {}

    static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Tokenizer> CACHE = new ConcurrentHashMap<>();

    static Path root() {
        String p = System.getProperty("jformers.testdata");
        Path dir = p != null && !p.isBlank() ? Path.of(p) : Path.of("..", "testdata");
        if (!Files.isDirectory(dir)) dir = Path.of("testdata");
        if (!Files.isDirectory(dir)) throw new IllegalStateException("test data not found: " + dir.toAbsolutePath());
        return dir;
    }

    static Path path(String relative) {
        return root().resolve(relative);
    }

    static JsonNode json(String relative) {
        try {
            return JSON.readTree(path(relative).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String read(String relative) {
        try {
            return Files.readString(path(relative));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Tokenizer bertUncased() {
        return CACHE.computeIfAbsent("bert-lower",
                k -> AutoTokenizer.bertFromVocab(path("vocab/bert-base-uncased/vocab.txt"), true));
    }

    static Tokenizer bertNoLowerCase() {
        return CACHE.computeIfAbsent("bert-nolower",
                k -> AutoTokenizer.bertFromVocab(path("vocab/bert-base-uncased/vocab.txt"), false));
    }

    static Tokenizer gpt2() {
        return CACHE.computeIfAbsent("gpt2", k -> AutoTokenizer.gpt2FromFiles(path("vocab/gpt2/vocab.json"),
                path("vocab/gpt2/merges.txt")));
    }

    static Tokenizer roberta() {
        return CACHE.computeIfAbsent("roberta", k -> AutoTokenizer.robertaFromFiles(
                path("vocab/roberta-base/vocab.json"), path("vocab/roberta-base/merges.txt")));
    }

    static Tokenizer pipeline(String folder) {
        return CACHE.computeIfAbsent("pipe:" + folder,
                k -> AutoTokenizer.fromPretrained(path("golden/pipelines/" + folder)));
    }

    static int[] ints(JsonNode arr) {
        int[] a = new int[arr.size()];
        for (int i = 0; i < a.length; i++) a[i] = arr.get(i).asInt();
        return a;
    }
}
