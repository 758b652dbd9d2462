package dev.jformers.models;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The fields every Hugging Face config has ({@code PretrainedConfig}), with HF's defaults.
 *
 * @param id2label    label names by class index; {@code LABEL_i} when the config has none
 * @param problemType "single_label_classification", "multi_label_classification", "regression" or null
 */
public record CommonConfig(String modelType, List<String> architectures, Map<Integer, String> id2label,
                           String problemType, Integer padTokenId, Integer bosTokenId, Integer eosTokenId,
                           boolean tieWordEmbeddings, boolean isDecoder, JsonNode json) {

    public int numLabels() {
        return id2label.size();
    }

    /** Reads the common fields; {@code defaults} gives the architecture's special-token defaults. */
    public static CommonConfig parse(JsonNode json, Integer defaultPad, Integer defaultBos, Integer defaultEos) {
        List<String> archs = new ArrayList<>();
        json.path("architectures").forEach(a -> archs.add(a.asText()));
        TreeMap<Integer, String> labels = new TreeMap<>();
        JsonNode id2label = json.get("id2label");
        if (id2label != null && id2label.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> it = id2label.properties().iterator();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                try {
                    labels.put(Integer.parseInt(e.getKey()), e.getValue().asText());
                } catch (NumberFormatException ex) {
                    throw new ConfigException("config.json: id2label key '" + e.getKey() + "' is not an integer");
                }
            }
            if (labels.size() > MAX_LABELS || !labels.isEmpty() && (labels.firstKey() < 0 || labels.lastKey() >= MAX_LABELS)) {
                throw new ConfigException("config.json: id2label holds ids outside [0, " + MAX_LABELS + ")");
            }
        } else {
            int n = size(json, "num_labels", 2, 0, MAX_LABELS);
            for (int i = 0; i < n; i++) {
                labels.put(i, "LABEL_" + i);
            }
        }
        return new CommonConfig(
                json.path("model_type").asText(""),
                List.copyOf(archs),
                Map.copyOf(labels),
                json.hasNonNull("problem_type") ? json.get("problem_type").asText() : null,
                intOr(json, "pad_token_id", defaultPad),
                intOr(json, "bos_token_id", defaultBos),
                intOr(json, "eos_token_id", defaultEos),
                json.path("tie_word_embeddings").asBoolean(true),
                json.path("is_decoder").asBoolean(false),
                json);
    }

    /** More classes than any classification head has; a config asking for more is refused before allocating. */
    static final int MAX_LABELS = 1 << 16;

    /**
     * An integer size field of config.json ({@code dflt} when absent), refused with a one-line
     * ConfigException unless it is a whole number in [{@code min}, {@code max}]: sizes are checked
     * before any tensor is allocated from them.
     */
    public static int size(JsonNode json, String field, int dflt, int min, int max) {
        JsonNode n = json.get(field);
        if (n == null) {
            return dflt;
        }
        double v = n.isNumber() ? n.asDouble() : Double.NaN;
        if (!(v >= min && v <= max) || v != Math.rint(v)) {
            String shown = n.isNumber() ? n.asText() : n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
            throw new ConfigException("config.json: " + field + " is " + (shown.length() > 30 ? shown.substring(0, 30) + "…" : shown)
                    + ", expected a whole number in [" + min + ", " + max + "]");
        }
        return (int) v;
    }

    static Integer intOr(JsonNode json, String field, Integer dflt) {
        JsonNode n = json.get(field);
        if (n == null) {
            return dflt;
        }
        if (n.isNull()) {
            return null;
        }
        if (n.isArray()) { // eos_token_id may be a list; the first one is what generation stops on first
            return n.isEmpty() ? null : n.get(0).asInt();
        }
        return n.asInt();
    }
}
