package dev.jformers.training;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.JformersException;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;
import dev.jformers.models.AutoModels;
import dev.jformers.models.Golden;
import dev.jformers.models.Labels;
import dev.jformers.models.ModelInput;
import dev.jformers.models.PreTrainedModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What training does beyond the golden runs: saving and reloading, dropout, and bad input. */
class TrainingBehaviourTest {
    static final Path CLASSIFIER = GoldenTrainingTest.root().resolve("bert/sequence_classification");

    static List<GoldenTrainingTest.Batch> batches(Path dir) throws IOException {
        return GoldenTrainingTest.batches(dir);
    }

    static void train(TrainableModel m, List<GoldenTrainingTest.Batch> batches, int steps) {
        Optimizer adamw = new AdamW(m.parameterGroups(0.01), 0.9, 0.999, 1e-8);
        for (int step = 0; step < steps; step++) {
            GoldenTrainingTest.Batch b = batches.get(step % batches.size());
            m.backward(m.forward(b.input(), b.labels()).get("loss"));
            GradientClipping.clipGradNorm(m.trainableParameters(), 1.0);
            m.step(adamw, 1e-3);
        }
    }

    @Test
    void aTrainedModelSavedAndReloadedGivesTheSameOutputs(@TempDir Path out) throws IOException {
        List<GoldenTrainingTest.Batch> batches = batches(CLASSIFIER);
        ModelInput probe = batches.get(1).input();
        try (Backend backend = Backends.create("cpu"); TrainableModel m = TrainableModel.load(CLASSIFIER, backend)) {
            float[] before = m.eval().forward(probe).logits().toFloatArray();
            train(m, batches, 3);
            float[] inMemory = m.eval().forward(probe).logits().toFloatArray();
            assertNotEquals(before[0], inMemory[0], "training changed nothing");
            m.savePretrained(out);
            PreTrainedModel reloaded = AutoModels.loadArchitecture(out, backend);
            assertArrayEquals(inMemory, reloaded.forward(probe).logits().toFloatArray(), 1e-6f);
        }
    }

    @Test
    void evalModeIsInferenceAndTrainingAfterwardsStillLearns() throws IOException {
        List<GoldenTrainingTest.Batch> batches = batches(CLASSIFIER);
        try (Backend backend = Backends.create("cpu"); TrainableModel m = TrainableModel.load(CLASSIFIER, backend)) {
            PreTrainedModel plain = AutoModels.loadArchitecture(CLASSIFIER, backend);
            ModelInput probe = batches.get(0).input();
            assertArrayEquals(plain.forward(probe).logits().toFloatArray(),
                    m.eval().forward(probe).logits().toFloatArray(), 1e-6f);
            float first = m.forward(batches.get(0).input(), batches.get(0).labels()).get("loss").toFloatArray()[0];
            m.autograd().eval();
            train(m, batches.subList(0, 1), 20);
            float after = m.forward(batches.get(0).input(), batches.get(0).labels()).get("loss").toFloatArray()[0];
            assertTrue(after < first / 2, "20 steps on one batch should fit it: " + first + " → " + after);
        }
    }

    /** A copy of the golden classifier whose config.json sets every dropout probability to {@code p}. */
    static Path withDropout(Path tmp, double p) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("dropout-" + p));
        ObjectNode config = (ObjectNode) Golden.read(CLASSIFIER.resolve("config.json"));
        config.put("hidden_dropout_prob", p).put("attention_probs_dropout_prob", p);
        Files.writeString(dir.resolve("config.json"), config.toPrettyString());
        Files.copy(CLASSIFIER.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        return dir;
    }

    @Test
    void dropoutIsSeededInTrainingAndAbsentInEval(@TempDir Path tmp) throws IOException {
        GoldenTrainingTest.Batch b = batches(CLASSIFIER).get(0);
        Path dir = withDropout(tmp, 0.3);
        try (Backend backend = Backends.create("cpu"); TrainableModel m = TrainableModel.load(dir, backend);
             TrainableModel noDropout = TrainableModel.load(CLASSIFIER, backend)) {
            float[] eval = m.eval().forward(b.input()).logits().toFloatArray();
            assertArrayEquals(noDropout.eval().forward(b.input()).logits().toFloatArray(), eval, 0f);
            m.autograd().seed(7);
            float a = m.forward(b.input(), b.labels()).get("loss").toFloatArray()[0];
            m.autograd().seed(7).eval();
            float again = m.forward(b.input(), b.labels()).get("loss").toFloatArray()[0];
            m.autograd().seed(8).eval();
            float other = m.forward(b.input(), b.labels()).get("loss").toFloatArray()[0];
            assertEquals(a, again, 0f, "the same seed gives the same masks");
            assertNotEquals(a, other, "another seed gives other masks");
            float clean = noDropout.forward(b.input(), b.labels()).get("loss").toFloatArray()[0];
            assertNotEquals(clean, a, "dropout 0.3 changes the training loss");
        }
    }

    /**
     * Attention with dropout is written out (softmax, mask, product with V) rather than fused: with a
     * vanishing probability every element is kept (scale 1), so it must give the fused path's gradients.
     */
    @Test
    void writtenOutAttentionHasTheFusedGradients(@TempDir Path tmp) throws IOException {
        GoldenTrainingTest.Batch b = batches(CLASSIFIER).get(0);
        try (Backend backend = Backends.create("scalar");
             TrainableModel fused = TrainableModel.load(CLASSIFIER, backend);
             TrainableModel written = TrainableModel.load(withDropout(tmp, 1e-30), backend)) {
            fused.backward(fused.forward(b.input(), b.labels()).get("loss"));
            written.backward(written.forward(b.input(), b.labels()).get("loss"));
            for (Parameter p : fused.trainableParameters()) {
                float[] g = p.grad(), w = written.autograd().parameter(p.name()).grad();
                for (int i = 0; i < p.size(); i++) {
                    float e = g[p.offset() + i], x = w[p.offset() + i];
                    assertTrue(Math.abs(e - x) <= 1e-6 + 1e-4 * Math.abs(e), p.name() + "[" + i + "]: " + x + " vs " + e);
                }
            }
        }
    }

    @Test
    void badLabelsGetOneClearLine() throws IOException {
        GoldenTrainingTest.Batch b = batches(CLASSIFIER).get(0);
        try (Backend backend = Backends.create("cpu"); TrainableModel m = TrainableModel.load(CLASSIFIER, backend)) {
            var tooLarge = assertThrows(JformersException.class,
                    () -> m.forward(b.input(), Labels.of(Tensor.ofLongs(new long[] {1, 3}, 2))));
            assertTrue(tooLarge.getMessage().contains("label 3 is outside [0, 3)"), tooLarge.getMessage());
            var negative = assertThrows(JformersException.class,
                    () -> m.forward(b.input(), Labels.of(Tensor.ofLongs(new long[] {-1, 0}, 2))));
            assertTrue(negative.getMessage().contains("label -1"), negative.getMessage());
            var shape = assertThrows(ShapeException.class,
                    () -> m.forward(b.input(), Labels.of(Tensor.ofLongs(new long[] {0, 1, 2}, 3))));
            assertTrue(shape.getMessage().contains("3 labels for 2 rows"), shape.getMessage());
            var nan = assertThrows(JformersException.class, () -> m.backward(Tensor.of(new float[] {Float.NaN})));
            assertTrue(nan.getMessage().contains("the loss is NaN"), nan.getMessage());
            var noLoss = assertThrows(JformersException.class, () -> AutoModels.loadArchitecture(
                    Golden.golden().resolve("bert/base"), backend).forward(b.input(), Labels.of(b.labels().labels())));
            assertTrue(noLoss.getMessage().contains("has no loss"), noLoss.getMessage());
        }
    }

    /** A sequence-classification head on a base checkpoint: the head is newly initialized, then learns. */
    @Test
    void aNewHeadOnABaseCheckpointTrains(@TempDir Path out) throws IOException {
        List<GoldenTrainingTest.Batch> batches = batches(CLASSIFIER);   // same vocabulary and sizes as golden/bert/base
        Path base = Golden.golden().resolve("bert/base");
        try (Backend backend = Backends.create("cpu");
             TrainableModel m = TrainableModel.load(dev.jformers.models.Task.SEQUENCE_CLASSIFICATION, base, backend, 1)) {
            assertTrue(m.autograd().parameters().containsKey("classifier.weight"));
            assertTrue(m.autograd().parameters().containsKey("bert.encoder.layer.0.attention.self.query.weight"));
            float[] head = m.autograd().parameter("classifier.bias").value().toFloatArray();
            assertArrayEquals(new float[head.length], head, 0f, "HF initializes biases to 0");
            var b = new GoldenTrainingTest.Batch(batches.get(0).input(), Labels.of(Tensor.ofLongs(new long[] {1, 0}, 2)));
            float first = m.eval().forward(b.input(), b.labels()).get("loss").toFloatArray()[0];   // no dropout
            train(m, List.of(b), 15);
            float after = m.eval().forward(b.input(), b.labels()).get("loss").toFloatArray()[0];
            assertTrue(after < first, first + " → " + after);
            m.savePretrained(out);
            PreTrainedModel reloaded = AutoModels.loadArchitecture(out, backend);
            assertEquals("BertForSequenceClassification", reloaded.modelClass());
            assertArrayEquals(m.eval().forward(b.input()).logits().toFloatArray(),
                    reloaded.forward(b.input()).logits().toFloatArray(), 1e-6f);
        }
    }

    /** GPT-2 from config.json alone (HF's from_config): initialized as _init_weights, learns a batch. */
    @Test
    void aModelFromScratchLearns() throws IOException {
        Path lmHead = GoldenTrainingTest.root().resolve("gpt2/lm_head");
        List<GoldenTrainingTest.Batch> batches = batches(lmHead);
        try (Backend backend = Backends.create("cpu");
             TrainableModel m = TrainableModel.fromConfig(lmHead.resolve("config.json"), null, backend, 3)) {
            assertEquals("GPT2LMHeadModel", m.model().modelClass());
            float[] ln = m.autograd().parameter("transformer.h.0.ln_1.weight").value().toFloatArray();
            assertEquals(1f, ln[0], 0f, "LayerNorm weights start at 1");
            float[] wte = m.autograd().parameter("transformer.wte.weight").value().toFloatArray();
            double sumSq = 0;
            for (float v : wte) {
                sumSq += v * v;
            }
            double std = Math.sqrt(sumSq / wte.length), range = Golden.read(lmHead.resolve("config.json"))
                    .get("initializer_range").asDouble();
            assertEquals(range, std, range * 0.1, "wte ~ N(0, initializer_range)");
            var b = batches.get(0);
            float first = m.forward(b.input(), b.labels()).get("loss").toFloatArray()[0];
            m.autograd().eval();
            train(m, batches.subList(0, 1), 20);
            float after = m.forward(b.input(), b.labels()).get("loss").toFloatArray()[0];
            assertTrue(after < first * 0.8, first + " → " + after);
        }
    }

    @Test
    void badSettingsAreRefused() {
        assertTrue(assertThrows(JformersException.class, () -> new LearningRateSchedule(
                LearningRateSchedule.Kind.LINEAR, 0, 0, 10)).getMessage().contains("learning rate must be > 0"));
        assertTrue(assertThrows(JformersException.class, () -> new AdamW.Group(List.of(), -0.1))
                .getMessage().contains("weight decay must be ≥ 0"));
        assertTrue(assertThrows(JformersException.class, () -> LearningRateSchedule.kind("exponential"))
                .getMessage().contains("unknown lr_scheduler_type"));
        Backend inferenceOnly = (Backend) java.lang.reflect.Proxy.newProxyInstance(Backend.class.getClassLoader(),
                new Class<?>[] {Backend.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "supportsTraining" -> false;
                    case "name" -> "inference-only";
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        assertTrue(assertThrows(JformersException.class, () -> new Autograd(inferenceOnly))
                .getMessage().contains("cannot train"));
    }

    @Test
    void schedulesFollowHuggingFace() {
        var linear = new LearningRateSchedule(LearningRateSchedule.Kind.LINEAR, 1.0, 2, 10);
        assertEquals(0.0, linear.lr(0));
        assertEquals(0.5, linear.lr(1));
        assertEquals(1.0, linear.lr(2));
        assertEquals(0.5, linear.lr(6));
        assertEquals(0.0, linear.lr(10));
        var cosine = new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 1.0, 0, 10);
        assertEquals(1.0, cosine.lr(0), 1e-12);
        assertEquals(0.5, cosine.lr(5), 1e-12);
        assertEquals(0.0, cosine.lr(10), 1e-12);
        var constant = new LearningRateSchedule(LearningRateSchedule.Kind.CONSTANT_WITH_WARMUP, 1.0, 4, 10);
        assertEquals(0.25, constant.lr(1));
        assertEquals(1.0, constant.lr(9));
    }
}
