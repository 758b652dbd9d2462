package dev.jformers.models.generation;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.models.Golden;

import java.nio.file.Path;

/** Reads testdata/golden-generation (Hugging Face 4.28's own generate outputs; see its README). */
public final class GoldenGeneration {
    private GoldenGeneration() {
    }

    private static JsonNode golden;

    public static Path dir() {
        return Golden.testdata().resolve("golden-generation");
    }

    public static synchronized JsonNode golden() {
        if (golden == null) {
            golden = Golden.read(dir().resolve("golden.json"));
        }
        return golden;
    }

    /** A {"shape", "data"} int64 tensor as rows. */
    public static long[][] rows(JsonNode tensor) {
        int b = tensor.get("shape").get(0).asInt(), t = tensor.get("shape").get(1).asInt();
        long[][] out = new long[b][t];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                out[i][j] = tensor.get("data").get(i * t + j).asLong();
            }
        }
        return out;
    }

    /** A float32 tensor's data ("-inf", "inf", "nan" as strings). */
    public static float[] floats(JsonNode tensor) {
        JsonNode data = tensor.has("data") ? tensor.get("data") : tensor;
        float[] out = new float[data.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = value(data.get(i));
        }
        return out;
    }

    public static float value(JsonNode n) {
        if (n.isTextual()) {
            return switch (n.asText()) {
                case "-inf" -> Float.NEGATIVE_INFINITY;
                case "inf" -> Float.POSITIVE_INFINITY;
                default -> Float.NaN;
            };
        }
        return (float) n.asDouble();
    }
}
