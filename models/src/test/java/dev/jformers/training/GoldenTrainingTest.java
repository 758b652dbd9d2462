package dev.jformers.training;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.Tensor;
import dev.jformers.loaders.SafetensorsFile;
import dev.jformers.models.Golden;
import dev.jformers.models.Labels;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * PyTorch's own training runs (testdata/golden-training, see its README): for every head of every
 * architecture, on the scalar and the SIMD backend, the batch-0 loss and every gradient, the parameters
 * after one SGD step, and the losses, pre-clip norms and parameters of three AdamW steps with warmup and
 * clipping (Hugging Face Trainer semantics) — element by element within the README's tolerances.
 */
class GoldenTrainingTest {

    static Path root() {
        return Golden.testdata().resolve("golden-training");
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root(), 2)) {
            for (Path d : s.filter(d -> Files.isRegularFile(d.resolve("golden.json"))).sorted().toList()) {
                for (String backend : List.of("scalar", "cpu")) {
                    out.add(Arguments.of(root().relativize(d).toString().replace('\\', '/'), backend));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.stream();
    }

    /** One batch of train.jsonl: the model inputs and the labels, as tensors. */
    record Batch(ModelInput input, Labels labels) {
    }

    static List<Batch> batches(Path dir) throws IOException {
        List<JsonNode> rows = Files.readAllLines(dir.resolve("train.jsonl")).stream().filter(l -> !l.isBlank())
                .map(l -> {
                    try {
                        return Golden.JSON.readTree(l);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }).toList();
        List<Batch> out = new ArrayList<>();
        for (int i = 0; i < rows.size(); i += 2) {
            List<JsonNode> b = rows.subList(i, i + 2);
            ModelInput in = ModelInput.of(ints(b, "input_ids")).withAttentionMask(ints(b, "attention_mask"));
            if (b.get(0).has("token_type_ids")) {
                in = in.withTokenTypeIds(ints(b, "token_type_ids"));
            }
            Labels labels = new Labels(numbers(b, "labels"), numbers(b, "start_positions"),
                    numbers(b, "end_positions"), numbers(b, "next_sentence_label"));
            out.add(new Batch(in, labels));
        }
        return out;
    }

    /** Rows stacked: [B, …] of longs. */
    static Tensor ints(List<JsonNode> rows, String key) {
        List<Long> values = new ArrayList<>();
        int[] inner = shape(rows.get(0).get(key));
        for (JsonNode r : rows) {
            flatten(r.get(key), values);
        }
        int[] shape = new int[inner.length + 1];
        shape[0] = rows.size();
        System.arraycopy(inner, 0, shape, 1, inner.length);
        return Tensor.ofLongs(values.stream().mapToLong(Long::longValue).toArray(), shape);
    }

    /** Integer labels as I64, float labels (regression, multi-label) as F32; null when absent. */
    static Tensor numbers(List<JsonNode> rows, String key) {
        if (!rows.get(0).has(key)) {
            return null;
        }
        JsonNode first = rows.get(0).get(key);
        JsonNode leaf = first.isArray() ? first.get(0) : first;
        if (leaf.isIntegralNumber()) {
            return ints(rows, key);
        }
        List<Float> values = new ArrayList<>();
        for (JsonNode r : rows) {
            if (r.get(key).isArray()) {
                r.get(key).forEach(v -> values.add(v.floatValue()));
            } else {
                values.add(r.get(key).floatValue());
            }
        }
        float[] f = new float[values.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = values.get(i);
        }
        return first.isArray() ? Tensor.of(f, rows.size(), first.size()) : Tensor.of(f, rows.size());
    }

    static int[] shape(JsonNode n) {
        List<Integer> dims = new ArrayList<>();
        while (n.isArray()) {
            dims.add(n.size());
            n = n.get(0);
        }
        return dims.stream().mapToInt(Integer::intValue).toArray();
    }

    static void flatten(JsonNode n, List<Long> out) {
        if (n.isArray()) {
            n.forEach(c -> flatten(c, out));
        } else {
            out.add(n.longValue());
        }
    }

    static TrainableModel load(Path dir, JsonNode golden, Backend backend) {
        TrainableModel m = TrainableModel.load(dir, backend);
        for (JsonNode frozen : golden.get("frozen_parameters")) {
            m.autograd().parameter(frozen.asText()).requiresGrad(false);
        }
        return m;
    }

    static void close(double actual, double expected, JsonNode tol, String what) {
        double atol = tol.get("atol").asDouble(), rtol = tol.get("rtol").asDouble();
        assertTrue(Math.abs(actual - expected) <= atol + rtol * Math.abs(expected),
                what + ": " + actual + " vs PyTorch's " + expected);
    }

    /** Every element of every expected tensor within atol + rtol·|expected| (atol per element where given). */
    static void compare(Map<String, float[]> actual, Path expectedFile, double defaultAtol, double rtol,
                        JsonNode looser, String what) {
        try (SafetensorsFile expected = SafetensorsFile.open(expectedFile)) {
            for (String name : expected.names()) {
                float[] e = expected.get(name).toFloatArray(), a = actual.get(name);
                assertTrue(a != null, what + ": no " + name);
                assertEquals(e.length, a.length, what + ": size of " + name);
                double[] atol = new double[e.length];
                java.util.Arrays.fill(atol, defaultAtol);
                if (looser != null && looser.has(name)) {
                    for (JsonNode range : looser.get(name)) {
                        java.util.Arrays.fill(atol, range.get(0).asInt(), range.get(1).asInt(), range.get(2).asDouble());
                    }
                }
                for (int i = 0; i < e.length; i++) {
                    if (!(Math.abs(a[i] - e[i]) <= atol[i] + rtol * Math.abs(e[i]))) {
                        fail(what + ": " + name + "[" + i + "] = " + a[i] + ", PyTorch " + e[i]);
                    }
                }
            }
        }
    }

    /** Current values of every parameter, plus the buffers the file holds, by checkpoint name. */
    static Map<String, float[]> values(TrainableModel m, Path dir) {
        Map<String, float[]> out = new java.util.HashMap<>();
        m.parameters().forEach(p -> out.put(p.name(), p.value().toFloatArray()));
        try (SafetensorsFile initial = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            for (String buffer : initial.names()) {   // position_ids, attn.bias: not parameters, never changed
                out.computeIfAbsent(buffer, n -> initial.get(n).toFloatArray());
            }
        }
        return out;
    }

    static Map<String, float[]> gradients(TrainableModel m) {
        Map<String, float[]> out = new java.util.HashMap<>();
        for (Parameter p : m.trainableParameters()) {
            float[] g = p.grad();
            if (g != null) {
                out.put(p.name(), java.util.Arrays.copyOfRange(g, p.offset(), p.offset() + p.size()));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void sgdStepEqualsPyTorch(String name, String backendName) throws IOException {
        Path dir = root().resolve(name);
        JsonNode golden = Golden.read(dir.resolve("golden.json"));
        JsonNode tol = golden.get("tolerance");
        List<Batch> batches = batches(dir);
        try (Backend backend = Backends.create(backendName); TrainableModel m = load(dir, golden, backend)) {
            ModelOutput out = m.forward(batches.get(0).input(), batches.get(0).labels());
            Tensor loss = out.get("loss");
            close(loss.toFloatArray()[0], golden.get("sgd").get("steps").get(0).get("loss").asDouble(), tol.get("loss"),
                    name + " batch-0 loss");
            m.backward(loss);
            JsonNode gradTol = tol.get("grads");
            compare(gradients(m), dir.resolve("grads.safetensors"), gradTol.get("atol").asDouble(),
                    gradTol.get("rtol").asDouble(), null, name + " gradient");
            m.step(new Sgd(m.trainableParameters(), 0, 0), 0.1);
            JsonNode sgdTol = tol.get("after_sgd");
            compare(values(m, dir), dir.resolve("after_sgd.safetensors"), sgdTol.get("atol").asDouble(),
                    sgdTol.get("rtol").asDouble(), null, name + " after SGD");
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void threeAdamWStepsEqualPyTorch(String name, String backendName, @TempDir Path saved) throws IOException {
        Path dir = root().resolve(name);
        JsonNode golden = Golden.read(dir.resolve("golden.json"));
        JsonNode tol = golden.get("tolerance");
        List<Batch> batches = batches(dir);
        try (Backend backend = Backends.create(backendName); TrainableModel m = load(dir, golden, backend)) {
            Optimizer adamw = new AdamW(m.parameterGroups(0.01), 0.9, 0.999, 1e-8);
            LearningRateSchedule schedule = new LearningRateSchedule(LearningRateSchedule.Kind.LINEAR, 1e-3, 1, 3);
            JsonNode steps = golden.get("adamw").get("steps");
            for (int step = 0; step < 3; step++) {
                Batch batch = batches.get(step);
                Tensor loss = m.forward(batch.input(), batch.labels()).get("loss");
                close(loss.toFloatArray()[0], steps.get(step).get("loss").asDouble(), tol.get("loss"),
                        name + " loss at step " + (step + 1));
                m.backward(loss);
                float norm = GradientClipping.clipGradNorm(m.trainableParameters(), 1.0);
                close(norm, steps.get(step).get("grad_norm_pre_clip").asDouble(), tol.get("grad_norm_pre_clip"),
                        name + " gradient norm at step " + (step + 1));
                assertEquals(steps.get(step).get("lr").asDouble(), schedule.lr(step), 1e-15);
                m.step(adamw, schedule.lr(step));
            }
            JsonNode after = golden.get("after_adamw_tolerance");
            compare(values(m, dir), dir.resolve("after_adamw.safetensors"), after.get("default_atol").asDouble(),
                    after.get("rtol").asDouble(), after.get("looser_atol"), name + " after AdamW");
            // save_pretrained: the same names and shapes as the file PyTorch wrote, the same values as in memory
            m.savePretrained(saved);
            try (SafetensorsFile written = SafetensorsFile.open(saved.resolve("model.safetensors"));
                 SafetensorsFile reference = SafetensorsFile.open(dir.resolve("after_adamw.safetensors"))) {
                assertEquals(reference.names(), written.names(), name + ": saved tensor names");
                for (String n : reference.names()) {
                    assertEquals(java.util.Arrays.toString(reference.get(n).shape()),
                            java.util.Arrays.toString(written.get(n).shape()), n);
                    assertEquals(reference.get(n).dtype(), written.get(n).dtype(), n);
                }
            }
        }
    }
}
