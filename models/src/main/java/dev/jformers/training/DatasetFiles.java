package dev.jformers.training;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.JformersException;
import dev.jformers.core.JsonErrors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
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

    /**
     * A row, the line it starts on and where that is in words ({@code FILE: line N}, or for SQuAD's layout
     * {@code FILE: question 'ID'}), for error messages. The accessors check the column's type, so a wrong value is
     * one message naming the file and line, never an empty string or a Jackson message.
     */
    public record Row(ObjectNode values, int line, String where) {
        /** The column's value, or an error naming the columns the row has. */
        public JsonNode column(String name) {
            JsonNode v = values.get(name);
            if (v == null || v.isNull()) {
                List<String> have = new ArrayList<>();
                values.fieldNames().forEachRemaining(have::add);
                throw new JformersException(where + ": no column '" + name + "' (the row has " + have
                        + "; name the columns with --text-column, --text-pair-column, --label-column)");
            }
            return v;
        }

        /** A text column: a string (a number or boolean is taken as its text, as a label often is). */
        public String text(String name) {
            return text(column(name), "'" + name + "'");
        }

        /** A list column (tokens, tags, input_ids). */
        public JsonNode list(String name) {
            JsonNode v = column(name);
            if (!v.isArray()) {
                throw wrongType("'" + name + "'", v, "a list");
            }
            return v;
        }

        /** A scalar inside a list or object ({@code what} names it, e.g. "'tokens'[3]"), as text. */
        public String text(JsonNode v, String what) {
            if (!v.isValueNode() || v.isNull()) {
                throw wrongType(what, v, "a string");
            }
            return v.asText();
        }

        /** An integer inside a list or object ({@code what} names it). */
        public int integer(JsonNode v, String what) {
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw wrongType(what, v, "an integer");
            }
            return v.asInt();
        }

        JformersException wrongType(String what, JsonNode v, String expected) {
            String got = v.isArray() ? "a list" : v.isObject() ? "an object" : v.isTextual() ? "the string \"" + v.asText() + "\""
                    : v.isNull() ? "null" : v.isBoolean() ? v.asText() : "the number " + v.asText();
            return new JformersException(where + ": " + what + " holds " + got + " where " + expected + " was expected");
        }
    }

    /** The rows of a .jsonl/.json (JSON Lines, a JSON array, SQuAD's layout), .csv or .tsv file; none is an error. */
    public static List<Row> read(Path file) {
        String text = readText(file);
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        List<Row> rows = name.endsWith(".csv") ? csv(text, file, ',')
                : name.endsWith(".tsv") ? csv(text, file, '\t')
                : json(text, file);
        if (rows.isEmpty()) {
            throw new JformersException(file + ": no rows (the file is empty)");
        }
        return rows;
    }

    /**
     * A text file as one string (a byte-order mark dropped): a missing file, or bytes that are not UTF-8 (naming
     * the line), is one message.
     */
    public static String readText(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new JformersException(file + ": no such file");
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + file + ": " + e.getMessage(), e);
        }
        CharBuffer chars = CharBuffer.allocate(bytes.length);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CoderResult r = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(in, chars, true);
        if (r.isError()) {
            int line = 1;
            for (int i = 0; i < in.position(); i++) {
                line += bytes[i] == '\n' ? 1 : 0;
            }
            throw new JformersException(file + ": line " + line + ": bytes that are not UTF-8 (save the file as UTF-8)");
        }
        String text = chars.flip().toString();
        return text.startsWith("\uFEFF") ? text.substring(1) : text;
    }

    private static String at(Path file, int line) {
        return file + ": line " + line;
    }

    private static List<Row> json(String text, Path file) {
        String trimmed = text.strip();
        if (trimmed.startsWith("[") || (trimmed.startsWith("{") && trimmed.contains("\"data\"") && !jsonLines(trimmed))) {
            List<Row> rows = new ArrayList<>();
            try (JsonParser p = JSON.createParser(text)) {
                if (p.nextToken() == JsonToken.START_ARRAY) {
                    // one object per element, each with the line it starts on
                    while (p.nextToken() != JsonToken.END_ARRAY) {
                        int line = p.currentTokenLocation().getLineNr();
                        rows.add(new Row(object(JSON.readTree(p), file, line), line, at(file, line)));
                    }
                    if (p.nextToken() != null) {
                        throw new JformersException(file + ": more after the JSON array ends");
                    }
                } else {
                    squad(JSON.readTree(p), file, rows);
                }
            } catch (JacksonException e) {
                throw new JformersException(JsonErrors.message(file, e));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
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
                rows.add(new Row(object(JSON.readTree(line), file, i + 1), i + 1, at(file, i + 1)));
            } catch (JacksonException e) {
                throw new JformersException(JsonErrors.message(file, i + 1, e));
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
        } catch (JacksonException e) {
            return false;
        }
    }

    private static ObjectNode object(JsonNode n, Path file, int line) {
        if (!(n instanceof ObjectNode o)) {
            throw new JformersException(at(file, line) + ": expected a JSON object ({\"column\": value, ...}), got "
                    + (n.isArray() ? "a list" : n.getNodeType().toString().toLowerCase(Locale.ROOT)));
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
                    rows.add(new Row(row, rows.size() + 1, file + ": question '" + row.get("id").asText() + "'"));
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
                        throw new JformersException(at(file, rowStart) + ": a quoted field is never closed");
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
                        throw new JformersException(at(file, rowStart) + ": " + fields.size() + " fields, the header has "
                                + header.size());
                    } else {
                        ObjectNode row = JSON.createObjectNode();
                        for (int k = 0; k < header.size(); k++) {
                            row.put(header.get(k), fields.get(k));
                        }
                        rows.add(new Row(row, rowStart, at(file, rowStart)));
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
