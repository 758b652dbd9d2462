package dev.jformers.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jformers.core.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Shared with other modules' tests through the models test-jar. Reads Hugging Face's golden outputs (testdata/golden) and compares ours with them. */
public final class Golden {
    public static final ObjectMapper JSON = new ObjectMapper();

    public static Path testdata() {
        String p = System.getProperty("jformers.testdata");
        Path dir = p != null ? Path.of(p) : Path.of("..", "testdata");
        if (!Files.isDirectory(dir)) {
            fail("test data not found at " + dir.toAbsolutePath());
        }
        return dir;
    }

    public static Path golden() {
        return testdata().resolve("golden");
    }

    /** Every model folder with a golden.json: "bert/masked_lm", … (pipelines excluded). */
    public static List<String> modelDirs() {
        try (Stream<Path> s = Files.walk(golden(), 2)) {
            return s.filter(d -> Files.isRegularFile(d.resolve("golden.json")))
                    .map(d -> golden().relativize(d).toString().replace('\\', '/'))
                    .filter(n -> !n.startsWith("pipelines"))
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static JsonNode read(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public record Expected(int[] shape, float[] data) {
    }

    public record Case(String name, Map<String, Tensor> inputs, Map<String, Expected> outputs) {
        public Tensor mask() {
            return inputs.get("attention_mask");
        }

        public ModelInput modelInput(boolean hiddenStates, boolean attentions) {
            return new ModelInput(inputs.get("input_ids"), inputs.get("attention_mask"), inputs.get("token_type_ids"),
                    null, hiddenStates, attentions);
        }
    }

    public static int[] shape(JsonNode t) {
        int[] s = new int[t.get("shape").size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = t.get("shape").get(i).asInt();
        }
        return s;
    }

    public static Tensor longTensor(JsonNode t) {
        JsonNode data = t.get("data");
        long[] v = new long[data.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = data.get(i).asLong();
        }
        return Tensor.ofLongs(v, shape(t));
    }

    public static long[] longs(JsonNode data) {
        long[] v = new long[data.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = data.get(i).asLong();
        }
        return v;
    }

    public static float[] floats(JsonNode data) {
        float[] v = new float[data.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) data.get(i).asDouble();
        }
        return v;
    }

    public static List<Case> cases(JsonNode golden) {
        List<Case> out = new ArrayList<>();
        for (JsonNode c : golden.get("cases")) {
            Map<String, Tensor> inputs = new LinkedHashMap<>();
            c.get("inputs").properties().forEach(e -> inputs.put(e.getKey(), longTensor(e.getValue())));
            Map<String, Expected> outputs = new LinkedHashMap<>();
            c.get("outputs").properties().forEach(e ->
                    outputs.put(e.getKey(), new Expected(shape(e.getValue()), floats(e.getValue().get("data")))));
            out.add(new Case(c.get("name").asText(), inputs, outputs));
        }
        return out;
    }

    /**
     * Element-by-element comparison, |actual − expected| ≤ atol + rtol·|expected|, skipping
     * positions whose token is padding (attention mask 0): HF's values there are arbitrary.
     */
    public static void assertClose(String what, String output, Expected expected, Tensor actual, Tensor mask, double tol) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape of " + output);
        float[] a = actual.toFloatArray();
        float[] e = expected.data();
        assertEquals(e.length, a.length, what + ": size of " + output);
        int[] shape = expected.shape();
        // which dimensions are batch and query token, by HF's output layouts
        int bDim = -1, tDim = -1;
        if (mask != null && mask.rank() == 2) {
            switch (output) {
                case "hidden_states" -> { bDim = 1; tDim = 2; }
                case "attentions" -> { bDim = 1; tDim = 3; }
                default -> {
                    if (shape.length >= 2 && shape[0] == mask.dim(0) && shape[1] == mask.dim(1)) {
                        bDim = 0;
                        tDim = 1;
                    }
                }
            }
        }
        long[] m = mask == null ? null : mask.toLongArray();
        int tokens = mask == null ? 0 : mask.dim(mask.rank() - 1);
        int worst = -1;
        double worstExcess = 0;
        int[] idx = new int[shape.length];
        for (int i = 0; i < e.length; i++) {
            boolean skip = bDim >= 0 && m[idx[bDim] * tokens + idx[tDim]] == 0;
            if (!skip) {
                double diff = Math.abs((double) a[i] - e[i]);
                double allowed = tol + tol * Math.abs(e[i]);
                if (!(diff <= allowed) && (worst < 0 || diff - allowed > worstExcess)) {
                    worst = i;
                    worstExcess = diff - allowed;
                }
            }
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        if (worst >= 0) {
            fail(what + ": " + output + "[" + worst + "] = " + a[worst] + ", Hugging Face gives " + e[worst]
                    + " (tolerance " + tol + ")");
        }
    }
}
