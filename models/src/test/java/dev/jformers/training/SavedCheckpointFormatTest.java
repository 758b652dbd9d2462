package dev.jformers.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.models.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What {@link TrainableModel#savePretrained} writes is what transformers' {@code save_pretrained} wrote for the same
 * model (the golden-training folders hold its files): model.safetensors byte for byte (tensor names and order,
 * dtypes, shapes, the buffers, tied weights once, the {"format": "pt"} metadata, the header's padding), and the
 * same config.json. A model built from its config alone (from_config) gets the same header, buffers included.
 */
class SavedCheckpointFormatTest {
    static final String[] CASES = {"bert/masked_lm", "bert/multiple_choice", "bert/pretraining", "bert/question_answering",
            "bert/sequence_classification", "bert/sequence_classification_multi_label",
            "bert/sequence_classification_regression", "bert/token_classification", "distilbert/masked_lm",
            "distilbert/question_answering", "distilbert/sequence_classification", "distilbert/token_classification",
            "gpt2/lm_head", "gpt2/sequence_classification", "roberta/masked_lm", "roberta/question_answering",
            "roberta/sequence_classification", "roberta/token_classification"};

    static byte[] header(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return java.util.Arrays.copyOfRange(bytes, 0, (int) (8 + n));
    }

    @Test
    void loadedAndSavedAgainEveryGoldenModelIsTheSameFile(@TempDir Path tmp) throws IOException {
        List<String> cases = new ArrayList<>(List.of(CASES));
        cases.add("bert/sequence_classification_frozen_base");
        try (Backend backend = Backends.create("scalar")) {
            for (String name : cases) {
                Path dir = GoldenTrainingTest.root().resolve(name), out = tmp.resolve(name.replace('/', '-'));
                try (TrainableModel m = TrainableModel.load(dir, backend)) {
                    m.savePretrained(out);
                }
                assertArrayEquals(Files.readAllBytes(dir.resolve("model.safetensors")),
                        Files.readAllBytes(out.resolve("model.safetensors")), name + ": model.safetensors");
                assertEquals(Golden.read(dir.resolve("config.json")), Golden.read(out.resolve("config.json")),
                        name + ": config.json");
                List<String> keys = new ArrayList<>();
                Golden.read(out.resolve("config.json")).fieldNames().forEachRemaining(keys::add);
                assertEquals(keys.stream().sorted().toList(), keys, "sorted keys, as save_pretrained writes them");
            }
        }
    }

    /** from_config: newly initialized values, but the header of the file save_pretrained wrote, byte for byte. */
    @ParameterizedTest
    @ValueSource(strings = {"bert/pretraining", "roberta/masked_lm", "distilbert/question_answering", "gpt2/lm_head",
            "gpt2/sequence_classification"})
    void aModelFromItsConfigAloneIsSavedWithTheSameLayout(String name, @TempDir Path tmp) throws IOException {
        Path dir = GoldenTrainingTest.root().resolve(name);
        ObjectNode bare = (ObjectNode) Golden.read(dir.resolve("config.json"));
        bare.remove(List.of("torch_dtype", "transformers_version"));     // a config written by hand
        Path config = tmp.resolve("config.json");
        Files.writeString(config, bare.toPrettyString());
        try (Backend backend = Backends.create("scalar"); TrainableModel m = TrainableModel.fromConfig(config, null, backend, 1)) {
            m.savePretrained(tmp.resolve("out"));
        }
        assertEquals(new String(header(dir.resolve("model.safetensors")), StandardCharsets.UTF_8),
                new String(header(tmp.resolve("out/model.safetensors")), StandardCharsets.UTF_8));
        assertEquals(Files.size(dir.resolve("model.safetensors")), Files.size(tmp.resolve("out/model.safetensors")));
        JsonNode saved = Golden.read(tmp.resolve("out/config.json"));
        assertEquals("float32", saved.get("torch_dtype").asText());
        assertEquals("4.28.1", saved.get("transformers_version").asText());
        assertEquals(Golden.read(dir.resolve("config.json")), saved, "the config save_pretrained wrote");
    }
}
