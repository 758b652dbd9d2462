package dev.jformers.models;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.Tensor;
import dev.jformers.loaders.Checkpoints;
import dev.jformers.loaders.WeightSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every tiny model of testdata/golden, from both weight files, on both CPU backends, with
 * hidden states and attentions: outputs equal to Hugging Face's within 1e-4.
 */
class GoldenModelsTest {
    static final double TOL = 1e-4;
    static Backend scalar;
    static Backend simd;

    @BeforeAll
    static void backends() {
        scalar = Backends.create("scalar");
        simd = Backends.create("cpu", 2);
    }

    @AfterAll
    static void close() {
        scalar.close();
        simd.close();
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String dir : Golden.modelDirs()) {
            for (String file : List.of("model.safetensors", "pytorch_model.bin")) {
                for (String backend : List.of("scalar", "cpu")) {
                    out.add(Arguments.of(dir, file, backend));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void matchesHuggingFace(String dir, String file, String backendName) {
        Path folder = Golden.golden().resolve(dir);
        JsonNode golden = Golden.read(folder.resolve("golden.json"));
        String modelClass = golden.get("model_class").asText();
        Backend backend = backendName.equals("scalar") ? scalar : simd;
        try (WeightSource source = Checkpoints.open(folder.resolve(file))) {
            PreTrainedModel model = AutoModels.load(modelClass, AutoConfig.fromPretrained(folder), source, backend);
            assertEquals(modelClass, model.modelClass());
            for (Golden.Case c : Golden.cases(golden)) {
                boolean hidden = c.outputs().containsKey("hidden_states");
                boolean attentions = c.outputs().containsKey("attentions");
                ModelOutput out = model.forward(c.modelInput(hidden, attentions));
                for (Map.Entry<String, Golden.Expected> e : c.outputs().entrySet()) {
                    Tensor actual = out.get(e.getKey());
                    Golden.assertClose(dir + "/" + file + " [" + backendName + "] " + c.name(), e.getKey(), e.getValue(),
                            actual, c.mask(), TOL);
                }
            }
        }
    }
}
