package dev.jformers.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.jformers.core.JformersException;
import dev.jformers.core.JsonErrors;
import dev.jformers.core.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** JSON in and out for the CLI. */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Json() {
    }

    static JsonNode read(Path file) {
        try {
            return MAPPER.readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new JformersException(JsonErrors.message(file, e));
        } catch (IOException e) {
            throw new JformersException(file + ": unreadable: " + e.getMessage());
        }
    }

    /** A nested list of integers (any depth, rectangular) as an I64 tensor; null when absent. */
    static Tensor longTensor(JsonNode node, String name, Path file) {
        if (node == null || node.isNull()) {
            return null;
        }
        List<Integer> shape = new ArrayList<>();
        for (JsonNode n = node; n.isArray(); n = n.isEmpty() ? null : n.get(0)) {
            shape.add(n.size());
            if (n.isEmpty()) {
                break;
            }
        }
        if (shape.isEmpty()) {
            throw new JformersException(file + ": '" + name + "' must be a nested list of integers");
        }
        int[] dims = shape.stream().mapToInt(Integer::intValue).toArray();
        // The first row's lengths are only a claim: every row is checked before anything is allocated,
        // so the count below is what the file really holds.
        flatten(node, 0, dims, null, new int[1], name, file);
        long count = 1;
        for (int d : dims) {
            count *= d;
        }
        long[] values = new long[(int) count];
        flatten(node, 0, dims, values, new int[1], name, file);
        return Tensor.ofLongs(values, dims);
    }

    /** Checks nesting, lengths and integers ({@code out} null) or copies the values into {@code out}. */
    private static void flatten(JsonNode n, int depth, int[] dims, long[] out, int[] pos, String name, Path file) {
        if (depth == dims.length) {
            if (!n.isIntegralNumber() || !n.canConvertToLong()) {
                throw new JformersException(file + ": '" + name + "' holds a " + n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT)
                        + " where an integer was expected");
            }
            if (out != null) {
                out[pos[0]++] = n.asLong();
            }
            return;
        }
        if (!n.isArray() || n.size() != dims[depth]) {
            throw new JformersException(file + ": '" + name + "' is not rectangular (rows of different lengths: pad them)");
        }
        for (JsonNode c : n) {
            flatten(c, depth + 1, dims, out, pos, name, file);
        }
    }

    /** Writes {@code {name: {"shape": [...], "data": [...]}, …}}, streaming the floats. */
    static void writeTensors(Map<String, Tensor> tensors, JsonGenerator g) throws IOException {
        g.writeStartObject();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            g.writeObjectFieldStart(e.getKey());
            g.writeArrayFieldStart("shape");
            for (int d : e.getValue().shape()) {
                g.writeNumber(d);
            }
            g.writeEndArray();
            g.writeArrayFieldStart("data");
            for (float f : e.getValue().toFloatArray()) {
                g.writeNumber(f);
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        g.writeEndObject();
    }
}
