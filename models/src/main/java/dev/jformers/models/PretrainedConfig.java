package dev.jformers.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jformers.models.bert.BertConfig;
import dev.jformers.models.distilbert.DistilBertConfig;
import dev.jformers.models.gpt2.GPT2Config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A model's config.json, typed per architecture. */
public interface PretrainedConfig {

    CommonConfig common();

    default String modelType() {
        return common().modelType();
    }

    /** Parses config.json text, choosing the class from {@code model_type}. */
    static PretrainedConfig parse(JsonNode json, String where) {
        String type = json.path("model_type").asText("");
        return switch (type) {
            case "bert", "roberta" -> BertConfig.parse(json);
            case "distilbert" -> DistilBertConfig.parse(json);
            case "gpt2" -> GPT2Config.parse(json);
            case "" -> throw new ConfigException(where + ": no model_type");
            default -> throw new ConfigException(where + ": model_type '" + type
                    + "' is not supported (supported: bert, roberta, distilbert, gpt2)");
        };
    }

    /** Reads {@code dir/config.json} (or the file itself). */
    static PretrainedConfig fromPretrained(Path dirOrFile) {
        Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve("config.json") : dirOrFile;
        if (!Files.isRegularFile(file)) {
            throw new ConfigException("no config.json in " + dirOrFile);
        }
        try {
            JsonNode json = new ObjectMapper().readTree(file.toFile());
            if (json == null || !json.isObject()) {
                throw new ConfigException(file + ": not a JSON object");
            }
            return parse(json, file.toString());
        } catch (IOException e) {
            throw new ConfigException(file + ": unreadable config: " + e.getMessage(), e);
        }
    }
}
