package dev.jformers.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.jformers.core.JformersException;
import dev.jformers.core.JsonErrors;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The inputs of {@code --input-file FILE|-}, read a chunk at a time: one per line, either a text or a JSON object
 * with the pipeline's fields. Blank lines are skipped. The bytes must be UTF-8: anything else is an error naming
 * the line, never silently replaced.
 */
final class InputRecords implements AutoCloseable {
    private final String name;
    private final BufferedReader reader;
    private int line;

    private InputRecords(String name, InputStream in) {
        this.name = name;
        this.reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)));
    }

    /** {@code -} is standard input; a missing or unreadable file fails here, before any model is loaded. */
    static InputRecords open(String file) {
        if (file.equals("-")) {
            return new InputRecords("standard input", System.in);
        }
        try {
            return new InputRecords(file, Files.newInputStream(Path.of(file)));
        } catch (NoSuchFileException e) {
            throw new JformersException(file + ": no such file (--input-file)");
        } catch (IOException e) {
            throw new JformersException(file + ": cannot read: " + e.getMessage());
        }
    }

    /** Up to {@code max} further records; empty at the end of the input. */
    List<JsonNode> next(int max) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        while (out.size() < max) {
            String text;
            try {
                text = reader.readLine();
            } catch (CharacterCodingException e) {
                throw new JformersException(name + ": line " + (line + 1) + " is not valid UTF-8");
            }
            if (text == null) {
                break;
            }
            line++;
            if (text.isBlank()) {
                continue;
            }
            out.add(text.stripLeading().startsWith("{") ? parse(text) : JsonNodeFactory.instance.objectNode().put("text", text));
        }
        return out;
    }

    private JsonNode parse(String text) {
        try {
            return Json.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new JformersException(JsonErrors.message(name, line, e));
        }
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}
