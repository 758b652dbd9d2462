package dev.jformers.models;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jformers.core.JsonErrors;
import dev.jformers.core.ModelFolder;
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

    /** Bounds that every architecture's sizes stay within (far above any released model's). */
    int MAX_WIDTH = 1 << 16, MAX_LAYERS = 1024, MAX_VOCAB = 1 << 24, MAX_POSITIONS = 1 << 20, MAX_INNER = 1 << 20;

    /**
     * Checks the config against the checkpoint before anything is allocated: the embedding tables
     * and the first layer have the shapes the config implies, and the number of layers is what the
     * weights hold (read from the header: no data is touched).
     */
    void checkWeights(ModelWeights weights);

    /** Throws unless {@code heads} ≥ 1 divides {@code width} (no "/ by zero" ever reaches a user). */
    static void checkHeads(String widthField, int width, String headsField, int heads) {
        if (heads < 1 || width % heads != 0) {
            throw new ConfigException("config.json: " + widthField + " " + width + " is not a multiple of " + headsField + " " + heads);
        }
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
        if (file != dirOrFile) {
            String escape = ModelFolder.escape(dirOrFile, file);
            if (escape != null) {
                throw new ConfigException(file + ": " + escape);
            }
        }
        try {
            JsonNode json = new ObjectMapper().readTree(file.toFile());
            if (json == null || !json.isObject()) {
                throw new ConfigException(file + ": not a JSON object");
            }
            return parse(json, file.toString());
        } catch (JacksonException e) {
            throw new ConfigException(JsonErrors.message(file, e), e);
        } catch (IOException e) {
            throw new ConfigException(file + ": unreadable config: " + e.getMessage(), e);
        }
    }
}
