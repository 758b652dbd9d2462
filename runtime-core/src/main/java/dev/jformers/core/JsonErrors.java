package dev.jformers.core;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Jackson's parse errors in plain words: every JSON file the library reads (config.json, tokenizer.json,
 * generation_config.json, a safetensors header, an input line…) reports where it broke, as
 * {@code FILE: line L, column C: not valid JSON (unexpected character '}')}, without Jackson's internal wording
 * (token names, "code 125", source descriptions).
 */
public final class JsonErrors {
    private static final Pattern CHARACTER = Pattern.compile("^Unexpected character \\('(.+?)' \\(code");
    private static final Pattern TOKEN = Pattern.compile("^Unrecognized token '(.*?)'");

    private JsonErrors() {
    }

    /**
     * One line naming {@code source} (a file, "standard input"…), the line and column where parsing stopped (when
     * Jackson knows them) and what was wrong.
     */
    public static String message(Object source, JacksonException e) {
        JsonLocation at = e.getLocation();
        String where = at == null || at.getLineNr() < 1 ? ""
                : ": line " + at.getLineNr() + (at.getColumnNr() > 0 ? ", column " + at.getColumnNr() : "");
        return source + where + ": not valid JSON (" + reason(e.getOriginalMessage()) + ")";
    }

    /**
     * As {@link #message(Object, JacksonException)} for a text that is line {@code line} of {@code source} and was
     * parsed by itself (a JSON Lines record): the column is Jackson's, the line is the file's.
     */
    public static String message(Object source, long line, JacksonException e) {
        JsonLocation at = e.getLocation();
        String column = at != null && at.getColumnNr() > 0 ? ", column " + at.getColumnNr() : "";
        return source + ": line " + line + column + ": not valid JSON (" + reason(e.getOriginalMessage()) + ")";
    }

    /** What Jackson found wrong, in a few words. */
    static String reason(String jackson) {
        String m = jackson == null ? "" : jackson.strip();
        Matcher c = CHARACTER.matcher(m);
        if (c.find()) {
            return "unexpected character '" + c.group(1) + "'";
        }
        Matcher t = TOKEN.matcher(m);
        if (t.find()) {
            return "unexpected word '" + t.group(1) + "'";
        }
        if (m.startsWith("Unexpected end-of-input")) {
            return "the text ends before the JSON does";
        }
        if (m.startsWith("Invalid UTF-8") || m.contains("Invalid UTF-8")) {
            return "bytes that are not UTF-8";
        }
        if (m.startsWith("Illegal unquoted character")) {
            return "a control character inside a string";
        }
        if (m.startsWith("Duplicate field")) {
            Matcher f = Pattern.compile("'(.*?)'").matcher(m);
            return f.find() ? "field \"" + f.group(1) + "\" given twice" : "a field given twice";
        }
        if (m.startsWith("Unexpected close marker")) {
            return "a closing bracket that does not match";
        }
        if (m.startsWith("Numeric value") && m.contains("out of range")) {
            return "a number out of range";
        }
        if (m.startsWith("Leading zeroes") || m.startsWith("Non-standard token")) {
            return "a number JSON does not allow";
        }
        return "malformed";
    }
}
