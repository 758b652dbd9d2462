package dev.jformers.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Reads testdata/golden/pipelines and compares our pipelines' JSON with HF's. */
final class PipelineGolden {
    static final ObjectMapper JSON = new ObjectMapper();

    private PipelineGolden() {
    }

    static Path dir(String folder) {
        String p = System.getProperty("jformers.testdata");
        Path testdata = p != null ? Path.of(p) : Path.of("..", "testdata");
        Path d = testdata.resolve("golden").resolve("pipelines").resolve(folder);
        if (!Files.isDirectory(d)) {
            fail("pipeline test data not found at " + d.toAbsolutePath());
        }
        return d;
    }

    static JsonNode golden(String folder) {
        try {
            return JSON.readTree(dir(folder).resolve("golden.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<JsonNode> calls(JsonNode golden) {
        List<JsonNode> out = new ArrayList<>();
        golden.get("calls").forEach(out::add);
        return out;
    }

    /** The backend the tests run on: the SIMD CPU backend when present, else the scalar reference. */
    static Backend backend() {
        boolean cpu = Backends.providers().stream().anyMatch(p -> p.name().equals("cpu") && p.unavailableReason() == null);
        return cpu ? Backends.create("cpu", 2) : Backends.create("scalar");
    }

    static JsonNode toJson(Object result) {
        return JSON.valueToTree(result);
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    /**
     * Same structure and keys; strings, integers, booleans and nulls equal; floats within
     * {@code rel}·|expected| + {@code abs}.
     */
    static void assertJsonClose(JsonNode expected, JsonNode actual, double rel, double abs) {
        compare(expected, actual, "$", rel, abs);
    }

    private static void compare(JsonNode e, JsonNode a, String path, double rel, double abs) {
        if (e.isFloatingPointNumber() || (e.isNumber() && a.isFloatingPointNumber())) {
            assertTrue(a.isNumber(), path + ": expected a number, got " + a);
            double ev = e.asDouble();
            double av = a.asDouble();
            assertTrue(Math.abs(ev - av) <= rel * Math.abs(ev) + abs,
                    path + ": expected " + ev + ", got " + av + " (diff " + Math.abs(ev - av) + ")");
            return;
        }
        if (e.isIntegralNumber()) {
            assertTrue(a.isIntegralNumber(), path + ": expected an integer, got " + a);
            assertEquals(e.asLong(), a.asLong(), path);
            return;
        }
        if (e.isArray()) {
            assertTrue(a.isArray(), path + ": expected an array, got " + abbreviate(a));
            assertEquals(e.size(), a.size(), path + ": array length (expected " + abbreviate(e) + ", got " + abbreviate(a) + ")");
            for (int i = 0; i < e.size(); i++) {
                compare(e.get(i), a.get(i), path + "[" + i + "]", rel, abs);
            }
            return;
        }
        if (e.isObject()) {
            assertTrue(a.isObject(), path + ": expected an object, got " + abbreviate(a));
            List<String> ek = new ArrayList<>();
            e.fieldNames().forEachRemaining(ek::add);
            List<String> ak = new ArrayList<>();
            a.fieldNames().forEachRemaining(ak::add);
            assertEquals(ek, ak, path + ": keys");
            for (Iterator<String> it = e.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                compare(e.get(k), a.get(k), path + "." + k, rel, abs);
            }
            return;
        }
        assertEquals(e, a, path);
    }

    static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() > 300 ? s.substring(0, 300) + "…" : s;
    }
}
