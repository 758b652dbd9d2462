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
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every tiny model of testdata/golden with its linear weights in int8 ({@code jformers.cpu.weights=int8}),
 * against Hugging Face's float32 outputs: each output's RMS error is at most {@value #RMS_TOL} of its RMS,
 * and every element is within {@value #ELEMENT_TOL} · (1 + |expected|).
 *
 * <p>Why those tolerances: Q8_0 moves each weight by at most 1/254 of its block's largest |w|, about 0.6% of
 * the weights' spread as an RMS, and a dot product of such independent errors is off by about that fraction
 * of its own size. These models (hidden size 32: one scale block per column, initializer range 0.2) compound
 * it over 2–5 layers: measured RMS errors 0.6–3.3% of the outputs' RMS, and the worst of several thousand
 * logits 0.08 · (1 + |expected|) (a 3–4 σ element of that error). A wrong scale or a block read from the
 * wrong column gives errors of the order of the values themselves (RMS ratio near 1), far above both bounds.
 */
class Int8GoldenModelsTest {
    static final double RMS_TOL = 0.05;
    static final double ELEMENT_TOL = 0.15;
    static Backend int8;

    @BeforeAll
    static void backend() {
        System.setProperty("jformers.cpu.weights", "int8");
        try {
            int8 = Backends.create("cpu", 2);
        } finally {
            System.clearProperty("jformers.cpu.weights");
        }
        assertTrue(int8.describe().contains("int8 weights"), int8.describe());
    }

    @AfterAll
    static void close() {
        int8.close();
    }

    static List<String> dirs() {
        return Golden.modelDirs();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dirs")
    void staysCloseToHuggingFace(String dir) {
        Path folder = Golden.golden().resolve(dir);
        JsonNode golden = Golden.read(folder.resolve("golden.json"));
        String modelClass = golden.get("model_class").asText();
        try (WeightSource source = Checkpoints.open(folder.resolve("model.safetensors"))) {
            PreTrainedModel model = AutoModels.load(modelClass, AutoConfig.fromPretrained(folder), source, int8);
            for (Golden.Case c : Golden.cases(golden)) {
                ModelOutput out = model.forward(c.modelInput(c.outputs().containsKey("hidden_states"),
                        c.outputs().containsKey("attentions")));
                for (Map.Entry<String, Golden.Expected> e : c.outputs().entrySet()) {
                    String what = dir + " [int8] " + c.name();
                    Tensor actual = out.get(e.getKey());
                    Golden.assertClose(what, e.getKey(), e.getValue(), actual, c.mask(), ELEMENT_TOL);
                    float[] expected = e.getValue().data(), got = actual.toFloatArray();
                    double sumSquares = 0, errorSquares = 0;
                    for (int i = 0; i < expected.length; i++) {
                        sumSquares += expected[i] * (double) expected[i];
                        errorSquares += (got[i] - expected[i]) * (double) (got[i] - expected[i]);
                    }
                    double ratio = Math.sqrt(errorSquares / sumSquares);
                    assertTrue(ratio <= RMS_TOL, what + ": RMS error of " + e.getKey() + " is " + ratio + " of its RMS");
                }
            }
        }
    }
}
