package dev.jformers.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.loaders.SafetensorsFile;
import dev.jformers.models.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Trainer against PyTorch's golden runs (testdata/golden-training): three AdamW steps with warmup,
 * clipping and decay groups through {@link Trainer#train()} give the golden losses and parameters; one SGD
 * step too. Resuming from a checkpoint gives exactly the losses and weights of the uninterrupted run.
 */
class TrainerTest {

    static List<ObjectNode> rows(Path dir) {
        try {
            List<ObjectNode> out = new ArrayList<>();
            for (String line : Files.readAllLines(dir.resolve("train.jsonl"))) {
                if (!line.isBlank()) {
                    out.add((ObjectNode) Golden.JSON.readTree(line));
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static TrainingArguments goldenAdamW(Path out) {
        TrainingArguments a = new TrainingArguments(out);
        a.learningRate = 1e-3;
        a.weightDecay = 0.01;
        a.warmupSteps = 1;
        a.maxSteps = 3;
        a.maxGradNorm = 1.0;
        a.perDeviceTrainBatchSize = 2;
        a.shuffle = false;
        a.loggingSteps = 1;
        a.saveStrategy = "no";
        return a;
    }

    static int padId(Path dir) {
        return Golden.read(dir.resolve("config.json")).path("pad_token_id").asInt(0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"bert/sequence_classification", "gpt2/lm_head", "roberta/token_classification",
            "distilbert/question_answering"})
    void threeStepsEqualPyTorch(String name, @TempDir Path out) {
        Path dir = GoldenTrainingTest.root().resolve(name);
        JsonNode golden = Golden.read(dir.resolve("golden.json"));
        try (Backend backend = Backends.create("cpu"); TrainableModel m = TrainableModel.load(dir, backend)) {
            Trainer trainer = new Trainer(m, goldenAdamW(out), rows(dir), null, new DataCollatorWithPadding(padId(dir)));
            trainer.train();
            JsonNode steps = golden.get("adamw").get("steps");
            List<Double> losses = trainer.state().losses();
            assertEquals(3, losses.size());
            for (int i = 0; i < 3; i++) {
                GoldenTrainingTest.close(losses.get(i), steps.get(i).get("loss").asDouble(),
                        golden.get("tolerance").get("loss"), name + " loss " + (i + 1));
                GoldenTrainingTest.close((Double) trainer.state().logHistory.get(i).get("grad_norm"),
                        steps.get(i).get("grad_norm_pre_clip").asDouble(), golden.get("tolerance").get("grad_norm_pre_clip"),
                        name + " grad_norm " + (i + 1));
            }
            JsonNode after = golden.get("after_adamw_tolerance");
            GoldenTrainingTest.compare(GoldenTrainingTest.values(m, dir), dir.resolve("after_adamw.safetensors"),
                    after.get("default_atol").asDouble(), after.get("rtol").asDouble(), after.get("looser_atol"),
                    name + " after the Trainer's AdamW");
            // Hugging Face logs the scheduler's next learning rate: 1e-3 after step 1, 5e-4 after 2, 0 after 3
            assertEquals(1e-3, (Double) trainer.state().logHistory.get(0).get("learning_rate"), 1e-15);
            assertEquals(0.0, (Double) trainer.state().logHistory.get(2).get("learning_rate"), 1e-15);
        }
    }

    @Test
    void oneSgdStepEqualsPyTorch(@TempDir Path out) {
        Path dir = GoldenTrainingTest.root().resolve("bert/token_classification");
        JsonNode golden = Golden.read(dir.resolve("golden.json"));
        TrainingArguments a = goldenAdamW(out);
        a.optim = "sgd";
        a.learningRate = 0.1;
        a.maxSteps = 1;
        a.maxGradNorm = 0;
        a.weightDecay = 0;
        a.warmupSteps = 0;
        a.lrSchedulerType = "constant";
        try (Backend backend = Backends.create("cpu"); TrainableModel m = TrainableModel.load(dir, backend)) {
            Trainer trainer = new Trainer(m, a, rows(dir), null, new DataCollatorWithPadding(0));
            trainer.train();
            GoldenTrainingTest.close(trainer.state().losses().getFirst(),
                    golden.get("sgd").get("steps").get(0).get("loss").asDouble(), golden.get("tolerance").get("loss"), "loss");
            JsonNode tol = golden.get("tolerance").get("after_sgd");
            GoldenTrainingTest.compare(GoldenTrainingTest.values(m, dir), dir.resolve("after_sgd.safetensors"),
                    tol.get("atol").asDouble(), tol.get("rtol").asDouble(), null, "after SGD");
        }
    }

    /**
     * Shuffled, with gradient accumulation and dropout (0.1 in this model), over two epochs: stopped after step 2
     * and resumed, the same run.
     */
    /**
     * total_flos as Hugging Face's Trainer sums it: per batch, PreTrainedModel.floating_point_ops = 6 × input_ids
     * elements × non-embedding parameters. The golden data's three batches of 2 are padded to 9, 11 and 8 tokens
     * (golden.json's "batches"): 18 + 22 + 16 = 56 tokens. Parameters by hand from the tiny configs (hidden 32,
     * 2 layers): BERT per layer q, k, v, o 4 × (32·32 + 32) + intermediate 32·37 + 37 + output 37·32 + 32 + two
     * LayerNorms 4 × 32 = 6789, embeddings' LayerNorm 64, pooler 1056, classifier 32·3 + 3 = 99: 14797. GPT-2 per
     * layer c_attn 32·96 + 96 + c_proj 1056 + c_fc 32·128 + 128 + mlp.c_proj 128·32 + 32 + ln_1, ln_2 128 = 12704,
     * ln_f 64: 25472 (lm_head is wte, an embedding, tied: not counted).
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"bert/sequence_classification, 14797", "gpt2/lm_head, 25472"})
    void totalFlosIsHuggingFacesEstimate(String name, long nonEmbedding, @TempDir Path out) throws IOException {
        Path dir = GoldenTrainingTest.root().resolve(name);
        TrainingArguments args = goldenAdamW(out);
        args.saveStrategy = "steps";
        args.saveSteps = 1;
        try (Backend backend = Backends.create("cpu"); TrainableModel m = TrainableModel.load(dir, backend)) {
            assertEquals(nonEmbedding, m.nonEmbeddingParameters());
            Trainer trainer = new Trainer(m, args, rows(dir), null, new DataCollatorWithPadding(padId(dir)));
            Trainer.TrainOutput result = trainer.train();
            assertEquals(6.0 * 56 * nonEmbedding, (Double) result.metrics().get("total_flos"));
            assertEquals(6.0 * 56 * nonEmbedding, trainer.state().totalFlos);
        }
        // each checkpoint's trainer_state.json holds the operations up to its step, as HF stores them at each save
        assertEquals(6.0 * 18 * nonEmbedding, TrainerState.read(out.resolve("checkpoint-1/trainer_state.json")).totalFlos);
        assertEquals(6.0 * 40 * nonEmbedding, TrainerState.read(out.resolve("checkpoint-2/trainer_state.json")).totalFlos);
        assertEquals(6.0 * 56 * nonEmbedding, Golden.read(out.resolve("checkpoint-3/trainer_state.json")).get("total_flos").asDouble());
    }

    @Test
    void resumingFromACheckpointContinuesExactly(@TempDir Path tmp) throws IOException {
        Path dir = GoldenTrainingTest.root().resolve("bert/sequence_classification");
        Path withDropout = tmp.resolve("model");
        Files.createDirectories(withDropout);
        Files.copy(dir.resolve("model.safetensors"), withDropout.resolve("model.safetensors"));
        Files.writeString(withDropout.resolve("config.json"), Files.readString(dir.resolve("config.json"))
                .replace("\"hidden_dropout_prob\": 0.0", "\"hidden_dropout_prob\": 0.1")
                .replace("\"attention_probs_dropout_prob\": 0.0", "\"attention_probs_dropout_prob\": 0.1"));
        assertTrue(Files.readString(withDropout.resolve("config.json")).contains("\"hidden_dropout_prob\": 0.1"));
        List<ObjectNode> rows = rows(dir);
        dir = withDropout;
        List<Double> full;
        double fullFlos;
        Map<String, float[]> fullWeights = new java.util.HashMap<>();
        try (Backend backend = Backends.create("cpu"); TrainableModel m = TrainableModel.load(dir, backend)) {
            Trainer t = new Trainer(m, resumable(tmp.resolve("full")), rows, null, new DataCollatorWithPadding(0));
            t.train();
            full = t.state().losses();
            fullFlos = t.state().totalFlos;
            m.parameters().forEach(p -> fullWeights.put(p.name(), p.value().toFloatArray()));
        }
        assertEquals(5, full.size());
        Path checkpoint = tmp.resolve("full/checkpoint-2");
        assertTrue(Files.isDirectory(checkpoint));
        try (Backend backend = Backends.create("cpu"); TrainableModel m = TrainableModel.load(dir, backend)) {
            Trainer t = new Trainer(m, resumable(tmp.resolve("resumed")), rows, null, new DataCollatorWithPadding(0));
            t.train(checkpoint);
            // Bit for bit: the SIMD kernels give the same bits however warm the JIT is (TrainingDeterminismTest).
            assertEquals(full, t.state().losses(), "losses of the resumed run");
            assertEquals(fullFlos, t.state().totalFlos, "total_flos continues from the checkpoint's");
            for (Parameter p : m.parameters()) {
                assertArrayEquals(fullWeights.get(p.name()), p.value().toFloatArray(), p.name());
            }
        }
    }

    /** Ctrl-C: the Trainer stops after the current step with a checkpoint that resumes to the same run. */
    @Test
    void aStopRequestLeavesAResumableCheckpoint(@TempDir Path tmp) throws IOException {
        Path dir = GoldenTrainingTest.root().resolve("gpt2/lm_head");
        List<Double> full;
        try (Backend backend = Backends.create("cpu"); TrainableModel m = TrainableModel.load(dir, backend)) {
            TrainingArguments a = resumable(tmp.resolve("full"));
            a.saveStrategy = "no";
            Trainer t = new Trainer(m, a, rows(dir), null, new DataCollatorWithPadding(159));
            t.train();
            full = t.state().losses();
        }
        Path out = tmp.resolve("stopped");
        try (Backend backend = Backends.create("cpu"); TrainableModel m = TrainableModel.load(dir, backend)) {
            TrainingArguments a = resumable(out);
            a.saveStrategy = "no";
            Trainer t = new Trainer(m, a, rows(dir), null, new DataCollatorWithPadding(159));
            t.addCallback(new TrainerCallback() {
                @Override
                public void onStepEnd(TrainingArguments args, TrainerState state, TrainerControl control) {
                    if (state.globalStep == 3) {
                        t.requestStop();                 // what the CLI's shutdown hook does on Ctrl-C
                    }
                }
            });
            t.train();
            assertEquals(3, t.state().globalStep);
        }
        Files.createDirectories(out.resolve("tmp-checkpoint-4"));   // a save cut short (full disk): never picked
        Path last = Trainer.lastCheckpoint(out);
        assertEquals(out.resolve("checkpoint-3"), last);
        try (Backend backend = Backends.create("cpu"); TrainableModel m = TrainableModel.load(dir, backend)) {
            TrainingArguments a = resumable(out);
            a.saveStrategy = "no";
            Trainer t = new Trainer(m, a, rows(dir), null, new DataCollatorWithPadding(159));
            t.train(last);
            assertEquals(full, t.state().losses(), "losses of the resumed run");
        }
    }

    static TrainingArguments resumable(Path out) {
        TrainingArguments a = new TrainingArguments(out);
        a.learningRate = 1e-3;
        a.weightDecay = 0.01;
        a.warmupSteps = 1;
        a.maxSteps = 5;                // 6 rows, batch 1, accumulation 2: 3 steps per epoch, so 2 epochs
        a.perDeviceTrainBatchSize = 1;
        a.gradientAccumulationSteps = 2;
        a.loggingSteps = 1;
        a.saveSteps = 1;
        return a;
    }

    /** Hugging Face's layout, save_total_limit, best-model tracking and early stopping. */
    @Test
    void checkpointsAreLaidOutAsHuggingFaceWritesThem(@TempDir Path out) throws IOException {
        Path dir = GoldenTrainingTest.root().resolve("bert/sequence_classification");
        TrainingArguments a = goldenAdamW(out);
        a.maxSteps = 6;
        a.saveStrategy = "steps";
        a.saveSteps = 1;
        a.evaluationStrategy = "steps";
        a.evalSteps = 1;
        a.saveTotalLimit = 2;
        a.loadBestModelAtEnd = true;
        a.metricForBestModel = "loss";
        try (Backend backend = Backends.create("cpu"); TrainableModel m = TrainableModel.load(dir, backend)) {
            Trainer t = new Trainer(m, a, rows(dir), rows(dir), new DataCollatorWithPadding(0));
            t.train();
            TrainerState s = t.state();
            List<Path> kept = Trainer.checkpoints(out);
            assertTrue(kept.size() <= 3 && kept.contains(out.resolve("checkpoint-" + s.globalStep)), kept.toString());
            assertTrue(kept.contains(Path.of(s.bestModelCheckpoint)), "the best checkpoint is kept: " + kept);
            try (Stream<Path> files = Files.list(out)) {
                assertFalse(files.anyMatch(p -> p.getFileName().toString().startsWith("tmp-")), "no temporary folder left");
            }
            Path last = kept.getLast();
            Set<String> names = new TreeSet<>();
            try (Stream<Path> files = Files.list(last)) {
                files.forEach(p -> names.add(p.getFileName().toString()));
            }
            assertEquals(new TreeSet<>(List.of("config.json", "model.safetensors", "optimizer.safetensors", "rng_state.json",
                    "scheduler.json", "trainer_state.json", "training_args.json")), names);
            JsonNode stateJson = Golden.read(last.resolve("trainer_state.json"));
            Set<String> stateKeys = new TreeSet<>();
            stateJson.fieldNames().forEachRemaining(stateKeys::add);
            // Python's TrainerState(**json) accepts its own fields only
            assertEquals(new TreeSet<>(List.of("best_metric", "best_model_checkpoint", "epoch", "eval_steps", "global_step",
                    "is_hyper_param_search", "is_local_process_zero", "is_world_process_zero", "log_history", "logging_steps",
                    "max_steps", "num_train_epochs", "save_steps", "stateful_callbacks", "total_flos", "train_batch_size",
                    "trial_name", "trial_params")), stateKeys);
            TrainerState saved = TrainerState.read(last.resolve("trainer_state.json"));
            assertEquals(s.globalStep, saved.globalStep);
            Map<String, Object> firstLog = saved.logHistory.getFirst();
            assertEquals(List.of("loss", "grad_norm", "learning_rate", "epoch", "step"), List.copyOf(firstLog.keySet()));
            assertTrue(saved.logHistory.stream().anyMatch(e -> e.containsKey("eval_loss")));
            JsonNode args = Golden.read(last.resolve("training_args.json"));
            assertEquals(2, args.get("per_device_train_batch_size").asInt());
            assertEquals("adamw_torch", args.get("optim").asText());
            try (SafetensorsFile opt = SafetensorsFile.open(last.resolve("optimizer.safetensors"))) {
                assertTrue(opt.names().contains("classifier.weight.exp_avg_sq"));
            }
            // the best model's weights are the ones in memory at the end
            double best = s.logHistory.stream().filter(e -> e.containsKey("eval_loss"))
                    .mapToDouble(e -> (Double) e.get("eval_loss")).min().orElseThrow();
            assertEquals(best, s.bestMetric, 0.0);
            assertEquals(best, t.evaluate().get("eval_loss"), 1e-6);
        }
    }

    @Test
    void earlyStoppingStopsAfterPatienceEvaluationsWithoutImprovement(@TempDir Path out) {
        Path dir = GoldenTrainingTest.root().resolve("bert/sequence_classification");
        TrainingArguments a = goldenAdamW(out);
        a.maxSteps = 30;
        a.learningRate = 0.5;               // far too high: the eval loss soon stops improving
        a.warmupSteps = 0;
        a.saveStrategy = "steps";
        a.saveSteps = 1;
        a.evaluationStrategy = "steps";
        a.evalSteps = 1;
        a.loadBestModelAtEnd = true;
        try (Backend backend = Backends.create("cpu"); TrainableModel m = TrainableModel.load(dir, backend)) {
            Trainer t = new Trainer(m, a, rows(dir), rows(dir).subList(0, 2), new DataCollatorWithPadding(0))
                    .addCallback(new EarlyStoppingCallback(2, 0.0));
            t.train();
            assertTrue(t.state().globalStep < 30, "stopped early at " + t.state().globalStep);
            assertEquals(2, t.state().earlyStoppingPatienceCounter);
            // kept where Hugging Face keeps it, and read back on resume
            Path checkpoint = Trainer.lastCheckpoint(out);
            assertEquals(2, Golden.read(checkpoint.resolve("trainer_state.json")).get("stateful_callbacks")
                    .get("EarlyStoppingCallback").get("attributes").get("early_stopping_patience_counter").asInt());
            assertEquals(2, TrainerState.read(checkpoint.resolve("trainer_state.json")).earlyStoppingPatienceCounter);
        }
    }

    @Test
    void badArgumentsAndDataAreNamed(@TempDir Path out) {
        TrainingArguments a = new TrainingArguments(out);
        a.evaluationStrategy = "sometimes";
        assertTrue(assertThrows(RuntimeException.class, a::validate).getMessage().contains("evaluation_strategy"));
        Path dir = GoldenTrainingTest.root().resolve("bert/sequence_classification");
        try (Backend backend = Backends.create("cpu"); TrainableModel m = TrainableModel.load(dir, backend)) {
            Trainer t = new Trainer(m, goldenAdamW(out), List.of(), null, new DataCollatorWithPadding(0));
            assertTrue(assertThrows(RuntimeException.class, t::train).getMessage().contains("empty"));
            ObjectNode noIds = Golden.JSON.createObjectNode().put("labels", 1);
            Trainer t2 = new Trainer(m, goldenAdamW(out), List.of(noIds), null, new DataCollatorWithPadding(0));
            assertTrue(assertThrows(RuntimeException.class, t2::train).getMessage().contains("input_ids"));
        }
        assertNotNull(out);
    }

    /**
     * group_by_length (HF's LengthGroupedSampler): the shuffled rows are cut into mega-batches of 50 batches, each sorted
     * longest first, and the longest row of all goes to the very front; the order stays seeded (a resumed run replays it).
     */
    @Test
    void groupByLengthBatchesRowsOfSimilarLength(@TempDir Path out) {
        Path dir = GoldenTrainingTest.root().resolve("gpt2/lm_head");
        List<ObjectNode> rows = new ArrayList<>();
        java.util.Random random = new java.util.Random(5);
        for (int i = 0; i < 60; i++) {                      // 60 rows of 2..31 tokens (a causal LM needs 2)
            ObjectNode row = Golden.JSON.createObjectNode();
            var ids = row.putArray("input_ids");
            for (int t = 0, length = 2 + random.nextInt(30); t < length; t++) {
                ids.add(random.nextInt(159));
            }
            row.set("labels", ids.deepCopy());
            rows.add(row);
        }
        List<Integer> seen = new ArrayList<>();
        DataCollator padding = new DataCollatorWithPadding(159);
        DataCollator recording = (batch, r) -> {
            batch.forEach(row -> seen.add(row.get("input_ids").size()));
            return padding.collate(batch, r);
        };
        TrainingArguments a = goldenAdamW(out);
        a.perDeviceTrainBatchSize = 1;                     // mega-batches of 50 rows: rows 0-49 and 50-59
        a.maxSteps = 60;
        a.loggingSteps = 60;
        a.shuffle = true;
        a.groupByLength = true;
        try (Backend backend = Backends.create("scalar"); TrainableModel m = TrainableModel.load(dir, backend)) {
            new Trainer(m, a, rows, null, recording).train();
        }
        int longest = rows.stream().mapToInt(r -> r.get("input_ids").size()).max().orElseThrow();
        assertEquals(longest, seen.getFirst(), "the longest row first: " + seen);
        // row 0 and row 50 (the head of the second mega-batch) may have been swapped; the rest is sorted
        for (List<Integer> run : List.of(seen.subList(1, 50), seen.subList(51, 60))) {
            assertEquals(run.stream().sorted(java.util.Comparator.reverseOrder()).toList(), run,
                    "each mega-batch longest first: " + seen);
        }
    }
}
