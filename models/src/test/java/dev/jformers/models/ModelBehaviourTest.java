package dev.jformers.models;

import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.JformersException;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;
import dev.jformers.loaders.Checkpoints;
import dev.jformers.loaders.WeightSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Thread safety, Auto class choices and clear errors. */
class ModelBehaviourTest {
    static Backend backend;

    @BeforeAll
    static void backend() {
        backend = Backends.create(null, 2);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    @Test
    void encodeForFirstTokenIsTheFirstRowOfTheFullEncoderOutput() {
        for (String dir : List.of("bert/base", "distilbert/base")) {
            PreTrainedModel model = AutoModel.fromPretrained(Golden.golden().resolve(dir), backend);
            for (Golden.Case c : Golden.cases(Golden.read(Golden.golden().resolve(dir + "/golden.json")))) {
                ModelInput in = c.modelInput(false, false);
                Tensor all = model instanceof dev.jformers.models.bert.BertModel bert ? bert.encode(in).lastHiddenState()
                        : ((dev.jformers.models.distilbert.DistilBertModel) model).encode(in).lastHiddenState();
                Tensor first = model instanceof dev.jformers.models.bert.BertModel bert ? bert.encodeForFirstToken(in).lastHiddenState()
                        : ((dev.jformers.models.distilbert.DistilBertModel) model).encodeForFirstToken(in).lastHiddenState();
                int batch = all.dim(0), width = all.dim(2);
                assertArrayEquals(new int[] {batch, 1, width}, first.shape(), dir + " " + c.name());
                assertArrayEquals(all.narrow(1, 0, 1).contiguous().toFloatArray(), first.toFloatArray(), 1e-5f,
                        dir + " " + c.name());
            }
        }
    }

    @Test
    void aSentenceHeadGivenNoTokensSaysSo() {
        PreTrainedModel model = AutoModelForSequenceClassification.fromPretrained(
                Golden.golden().resolve("bert/sequence_classification"), backend);
        ModelInput empty = ModelInput.of(Tensor.ofLongs(new long[0], 1, 0));
        ShapeException e = assertThrows(ShapeException.class, () -> model.forward(empty));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }

    @Test
    void sentenceHeadsGiveTheSameLogitsWithTheLastLayerComputedForEveryToken() {
        for (String dir : List.of("bert/sequence_classification", "roberta/multiple_choice",
                "distilbert/sequence_classification")) {
            Path folder = Golden.golden().resolve(dir);
            PreTrainedModel model = dir.endsWith("multiple_choice") ? AutoModelForMultipleChoice.fromPretrained(folder, backend)
                    : AutoModelForSequenceClassification.fromPretrained(folder, backend);
            for (Golden.Case c : Golden.cases(Golden.read(folder.resolve("golden.json")))) {
                float[] firstTokenOnly = model.forward(c.modelInput(false, false)).logits().toFloatArray();
                System.setProperty("jformers.lastLayerAllTokens", "true");
                try {
                    float[] everyToken = model.forward(c.modelInput(false, false)).logits().toFloatArray();
                    assertArrayEquals(everyToken, firstTokenOnly, 1e-5f, dir + " " + c.name());
                } finally {
                    System.clearProperty("jformers.lastLayerAllTokens");
                }
            }
        }
    }

    @Test
    void eightThreadsSharingOneModelGiveTheSequentialResults() throws Exception {
        PreTrainedModel model = AutoModelForMaskedLM.fromPretrained(Golden.golden().resolve("bert/masked_lm"), backend);
        List<Golden.Case> cases = Golden.cases(Golden.read(Golden.golden().resolve("bert/masked_lm/golden.json")));
        List<float[]> sequential = new ArrayList<>();
        for (Golden.Case c : cases) {
            sequential.add(model.forward(c.modelInput(true, true)).logits().toFloatArray());
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                results.add(pool.submit(() -> {
                    for (int round = 0; round < 5; round++) {
                        for (int i = 0; i < cases.size(); i++) {
                            float[] got = model.forward(cases.get(i).modelInput(true, true)).logits().toFloatArray();
                            assertArrayEquals(sequential.get(i), got);
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> f : results) {
                assertTrue(f.get());
            }
        } finally {
            pool.shutdown();
        }
    }

    /**
     * The models hand their dead intermediates back to the backend (Backend.recycle), which reuses the
     * memory for later outputs: repeated forwards, with and without hidden states, must not disturb
     * each other's results or the hidden states already returned.
     */
    @Test
    void recycledIntermediatesNeverLeakIntoResults() {
        for (String folder : new String[] {"bert/masked_lm", "gpt2/lm_head", "distilroberta/masked_lm", "distilbert/masked_lm"}) {
            Path dir = Golden.golden().resolve(folder);
            PreTrainedModel model = AutoModels.loadArchitecture(dir, backend);
            Golden.Case c = Golden.cases(Golden.read(dir.resolve("golden.json"))).get(0);
            ModelOutput withHidden = model.forward(c.modelInput(true, false));
            float[] hidden = withHidden.get("hidden_states").toFloatArray();
            float[] logits = withHidden.logits().toFloatArray();
            for (int round = 0; round < 3; round++) {
                assertArrayEquals(logits, model.forward(c.modelInput(false, false)).logits().toFloatArray(), folder);
            }
            // what was returned earlier was not recycled under the caller
            assertArrayEquals(hidden, withHidden.get("hidden_states").toFloatArray(), folder + " hidden_states");
            assertArrayEquals(logits, withHidden.logits().toFloatArray(), folder + " logits");
        }
    }

    @Test
    void autoClassesPickHuggingFacesClasses() {
        Path bert = Golden.golden().resolve("bert/masked_lm");
        assertEquals("BertModel", AutoModel.fromPretrained(bert, backend).modelClass());
        assertEquals("BertForMaskedLM", AutoModelWithLMHead.fromPretrained(bert, backend).modelClass());
        assertEquals("RobertaForMaskedLM",
                AutoModelForMaskedLM.fromPretrained(Golden.golden().resolve("distilroberta/masked_lm"), backend).modelClass());
        assertEquals("GPT2LMHeadModel",
                AutoModelForPreTraining.fromPretrained(Golden.golden().resolve("gpt2/lm_head"), backend).modelClass());
        assertEquals("BertForPreTraining",
                AutoModels.loadArchitecture(Golden.golden().resolve("bert/pretraining"), backend).modelClass());
        ConfigException e = assertThrows(ConfigException.class,
                () -> AutoModelForQuestionAnswering.fromPretrained(Golden.golden().resolve("gpt2/base"), backend));
        assertTrue(e.getMessage().contains("gpt2"), e.getMessage());
    }

    @Test
    void aBaseCheckpointLoadsIntoAHeadModelWithMissingHeadWeightsNamed() {
        // bert/base has no classifier: every missing name is listed
        MissingWeightsException e = assertThrows(MissingWeightsException.class,
                () -> AutoModelForQuestionAnswering.fromPretrained(Golden.golden().resolve("bert/base"), backend));
        assertEquals(List.of("qa_outputs.weight", "qa_outputs.bias"), e.missing());
    }

    @Test
    void aHeadCheckpointLoadsIntoTheBaseModelWithItsPrefixStripped() {
        // token_classification keys are "bert.…" and it has no pooler: the base model gives no pooler_output
        PreTrainedModel noPooler = AutoModel.fromPretrained(Golden.golden().resolve("bert/token_classification"), backend);
        assertEquals(Set.of("last_hidden_state"),
                noPooler.forward(ModelInput.of(new long[][] {{101, 7, 102}})).asMap().keySet());
        PreTrainedModel ok = AutoModel.fromPretrained(Golden.golden().resolve("bert/sequence_classification"), backend);
        assertEquals(Set.of("last_hidden_state", "pooler_output"),
                ok.forward(ModelInput.of(new long[][] {{101, 7, 102}})).asMap().keySet());
        // a head that needs the pooler names it as missing
        MissingWeightsException e = assertThrows(MissingWeightsException.class,
                () -> AutoModelForSequenceClassification.fromPretrained(Golden.golden().resolve("bert/token_classification"), backend));
        assertTrue(e.missing().containsAll(List.of("bert.pooler.dense.weight", "bert.pooler.dense.bias")), e.missing().toString());
    }

    @Test
    void aWeightOfTheWrongShapeIsNamed(@TempDir Path tmp) throws IOException {
        Path dir = copyModel("bert/base", tmp);
        String config = Files.readString(dir.resolve("config.json")).replace("\"intermediate_size\": 64", "\"intermediate_size\": 65");
        Files.writeString(dir.resolve("config.json"), config);
        ShapeException e = assertThrows(ShapeException.class, () -> AutoModel.fromPretrained(dir, backend));
        assertTrue(e.getMessage().contains("encoder.layer.0.intermediate.dense.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("[65, 32]"), e.getMessage());
    }

    @Test
    void unsupportedConfigsAreRefusedClearly(@TempDir Path tmp) throws IOException {
        Path dir = copyModel("bert/base", tmp);
        Files.writeString(dir.resolve("config.json"), Files.readString(dir.resolve("config.json"))
                .replace("\"absolute\"", "\"relative_key\""));
        ConfigException e = assertThrows(ConfigException.class, () -> AutoModel.fromPretrained(dir, backend));
        assertTrue(e.getMessage().contains("relative_key"), e.getMessage());

        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"t5\"}");
        assertTrue(assertThrows(ConfigException.class, () -> AutoModel.fromPretrained(dir, backend))
                .getMessage().contains("t5"));
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\", \"activation_function\": \"swiglu\"}");
        assertTrue(assertThrows(JformersException.class, () -> AutoConfig.fromPretrained(dir)).getMessage().contains("swiglu"));
        Files.writeString(dir.resolve("config.json"), "not json");
        assertThrows(ConfigException.class, () -> AutoConfig.fromPretrained(dir));
        assertThrows(ConfigException.class, () -> AutoConfig.fromPretrained(tmp.resolve("nowhere")));
    }

    @Test
    void inputsLongerThanThePositionTableAndBadIdsFailClearly() {
        PreTrainedModel model = AutoModel.fromPretrained(Golden.golden().resolve("bert/base"), backend);
        long[][] tooLong = new long[1][65];
        JformersException e = assertThrows(JformersException.class, () -> model.forward(ModelInput.of(tooLong)));
        assertTrue(e.getMessage().contains("position"), e.getMessage());
        JformersException bad = assertThrows(JformersException.class,
                () -> model.forward(ModelInput.of(new long[][] {{101, 5000, 102}})));
        assertTrue(bad.getMessage().contains("5000"), bad.getMessage());
        assertThrows(ShapeException.class, () -> ModelInput.of(new long[][] {{1, 2}, {3}}));
        assertThrows(ShapeException.class,
                () -> ModelInput.of(new long[][] {{1, 2}}).withAttentionMask(new long[][] {{1, 1, 1}}));
    }

    @Test
    void modelOutputNamesWhatItHas() {
        PreTrainedModel model = AutoModel.fromPretrained(Golden.golden().resolve("bert/base"), backend);
        ModelOutput out = model.forward(ModelInput.of(new long[][] {{101, 7, 102}}));
        assertEquals(List.of("last_hidden_state", "pooler_output"), List.copyOf(out.asMap().keySet()));
        JformersException e = assertThrows(JformersException.class, () -> out.get("logits"));
        assertTrue(e.getMessage().contains("last_hidden_state"), e.getMessage());
        Tensor pooled = out.get("pooler_output");
        assertArrayEquals(new int[] {1, 32}, pooled.shape());
    }

    @Test
    void weightsComeFromEveryFormatOfOneModelAlike() {
        Path dir = Golden.golden().resolve("roberta/masked_lm");
        try (WeightSource st = Checkpoints.open(dir.resolve("model.safetensors"));
             WeightSource bin = Checkpoints.open(dir.resolve("pytorch_model.bin"))) {
            for (String name : st.names()) {
                assertArrayEquals(st.get(name).toFloatArray(), bin.get(name).toFloatArray(), name);
            }
        }
        Map<String, Tensor> unusedCheck = Map.of();
        assertTrue(unusedCheck.isEmpty());
    }

    private static Path copyModel(String name, Path tmp) throws IOException {
        Path src = Golden.golden().resolve(name);
        Path dir = tmp.resolve(name.replace('/', '_'));
        Files.createDirectories(dir);
        for (String f : List.of("config.json", "model.safetensors")) {
            Files.copy(src.resolve(f), dir.resolve(f));
        }
        return dir;
    }
}
