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
        Map<Integer, String> labels = new TreeMap<>();
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
        } else {
            int n = json.path("num_labels").asInt(2);
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
