package dev.jformers.training;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.JformersException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads a dataset file into rows (JSON objects, as Hugging Face's {@code load_dataset("json"|"csv")} gives
 * them): JSON Lines (one object a line), a JSON array of objects, SQuAD's JSON layout ({@code data →
 * paragraphs → qas}, flattened to one row per question), or CSV with a header row (RFC 4180 quoting). Every
 * error names the file and the line.
 */
public final class DatasetFiles {
    private static final ObjectMapper JSON = new ObjectMapper();

    private DatasetFiles() {
    }

    /** A row and the line it starts on (for error messages). */
    public record Row(ObjectNode values, int line) {
    }

    public static List<Row> read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new JformersException(file + ": no such file");
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + file + ": " + e.getMessage(), e);
        }
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        List<Row> rows = name.endsWith(".csv") ? csv(text, file, ',')
                : name.endsWith(".tsv") ? csv(text, file, '\t')
                : json(text, file);
        if (rows.isEmpty()) {
            throw new JformersException(file + ": no rows (the file is empty)");
        }
        return rows;
    }

    private static List<Row> json(String text, Path file) {
        String trimmed = text.strip();
        if (trimmed.startsWith("[") || (trimmed.startsWith("{") && trimmed.contains("\"data\"") && !jsonLines(trimmed))) {
            JsonNode root;
            try {
                root = JSON.readTree(trimmed);
            } catch (JsonProcessingException e) {
                throw new JformersException(file + ":" + e.getLocation().getLineNr() + ": malformed JSON ("
                        + e.getOriginalMessage() + ")");
            }
            List<Row> rows = new ArrayList<>();
            if (root.isArray()) {
                for (JsonNode n : root) {
                    rows.add(new Row(object(n, file, rows.size() + 1), rows.size() + 1));
                }
            } else {
                squad(root, file, rows);
            }
            return rows;
        }
        List<Row> rows = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) {
                continue;
            }
            try {
                rows.add(new Row(object(JSON.readTree(line), file, i + 1), i + 1));
            } catch (JsonProcessingException e) {
                throw new JformersException(file + ":" + (i + 1) + ": malformed JSON line (" + e.getOriginalMessage() + ")");
            }
        }
        return rows;
    }

    /** True when the first line is a whole JSON object by itself (JSON Lines, not one pretty-printed object). */
    private static boolean jsonLines(String text) {
        int nl = text.indexOf('\n');
        if (nl < 0) {
            return false;
        }
        try {
            JSON.readTree(text.substring(0, nl));
            return true;
        } catch (JsonProcessingException e) {
            return false;
        }
    }

    private static ObjectNode object(JsonNode n, Path file, int line) {
        if (!(n instanceof ObjectNode o)) {
            throw new JformersException(file + ":" + line + ": expected a JSON object, got " + n.getNodeType());
        }
        return o;
    }

    /** SQuAD: {"data": [{"paragraphs": [{"context", "qas": [{"id", "question", "answers": [{"text", "answer_start"}]}]}]}]}. */
    private static void squad(JsonNode root, Path file, List<Row> rows) {
        JsonNode data = root.get("data");
        if (data == null || !data.isArray()) {
            throw new JformersException(file + ": expected JSON Lines, a JSON array, or SQuAD's {\"data\": [...]}");
        }
        for (JsonNode article : data) {
            for (JsonNode paragraph : article.path("paragraphs")) {
                String context = paragraph.path("context").asText();
                for (JsonNode qa : paragraph.path("qas")) {
                    ObjectNode row = JSON.createObjectNode();
                    row.put("id", qa.path("id").asText(String.valueOf(rows.size())));
                    row.put("question", qa.path("question").asText());
                    row.put("context", context);
                    ObjectNode answers = row.putObject("answers");
                    var texts = answers.putArray("text");
                    var starts = answers.putArray("answer_start");
                    for (JsonNode a : qa.path("answers")) {
                        texts.add(a.path("text").asText());
                        starts.add(a.path("answer_start").asInt());
                    }
                    rows.add(new Row(row, rows.size() + 1));
                }
            }
        }
    }

    /** CSV with a header row: fields may be quoted ("a, b"), quotes doubled inside, newlines inside quotes. */
    static List<Row> csv(String text, Path file, char separator) {
        List<Row> rows = new ArrayList<>();
        List<String> header = null;
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean quoted = false, any = false;
        int line = 1, rowStart = 1;
        for (int i = 0; i <= text.length(); i++) {
            char c = i < text.length() ? text.charAt(i) : '\n';
            if (quoted) {
                if (c == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') {
                    field.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    if (c == '\n') {
                        line++;
                    }
                    if (i == text.length()) {
                        throw new JformersException(file + ":" + rowStart + ": a quoted field is never closed");
                    }
                    field.append(c);
                }
            } else if (c == '"' && field.isEmpty()) {
                quoted = true;
                any = true;
            } else if (c == separator) {
                fields.add(field.toString());
                field.setLength(0);
                any = true;
            } else if (c == '\n' || c == '\r') {
                if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') {
                    i++;
                }
                if (any || !field.isEmpty()) {
                    fields.add(field.toString());
                    if (header == null) {
                        header = List.copyOf(fields);
                    } else if (fields.size() != header.size()) {
                        throw new JformersException(file + ":" + rowStart + ": " + fields.size() + " fields, the header has "
                                + header.size());
                    } else {
                        ObjectNode row = JSON.createObjectNode();
                        for (int k = 0; k < header.size(); k++) {
                            row.put(header.get(k), fields.get(k));
                        }
                        rows.add(new Row(row, rowStart));
                    }
                }
                fields.clear();
                field.setLength(0);
                any = false;
                line++;
                rowStart = line;
            } else {
                field.append(c);
            }
        }
        return rows;
    }
}
