package dev.jformers.training;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;
import dev.jformers.loaders.SafetensorsFile;
import dev.jformers.loaders.SafetensorsWriter;
import dev.jformers.models.ModelOutput;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Hugging Face's {@code Trainer}: the training loop over a dataset of feature rows, with gradient
 * accumulation, clipping, the learning-rate schedule, logging, evaluation and checkpoints, as
 * {@code transformers.Trainer} does them. Per optimizer step:
 * <pre>
 *   for each of gradient_accumulation_steps batches: loss = forward(batch) / accumulation; backward(loss)
 *   grad_norm = clip_grad_norm_(max_grad_norm); optimizer.step(lr(step)); zero_grad
 *   every logging_steps: log {loss (mean since the last log), grad_norm, learning_rate, epoch, step}
 *   eval / save as evaluation_strategy / save_strategy say
 * </pre>
 * Checkpoints are written as {@code output_dir/checkpoint-N/} (model, tokenizer files, trainer_state.json,
 * optimizer.safetensors, scheduler.json, rng_state.json, training_args.json) into {@code tmp-checkpoint-N}
 * first and then renamed, so a crash mid-save leaves the previous checkpoint whole. Shuffling is seeded per
 * epoch, and a random collator and the dropout masks per batch, so {@link #train(Path)} from checkpoint-N continues exactly as the
 * uninterrupted run would have (same batches, same losses).
 *
 * <p>Differences from Hugging Face, on purpose: logged losses are not rounded to 4 decimals (they are the exact
 * float32 means, which the golden runs compare); the optimizer, scheduler, RNG and arguments are JSON and
 * safetensors instead of pickles.
 */
public final class Trainer {
    private final TrainableModel model;
    private final TrainingArguments args;
    private final List<ObjectNode> trainDataset;
    private final List<ObjectNode> evalDataset;
    private final DataCollator collator;
    private final List<TrainerCallback> callbacks = new ArrayList<>();
    private Supplier<Metric> computeMetrics;
    private Path tokenizerDir;
    private TrainerState state = new TrainerState();
    private Optimizer optimizer;
    private LearningRateSchedule schedule;
    private volatile boolean stopRequested;
    private Map<String, Double> lastEvalMetrics;

    /** Tokenizer files copied into every checkpoint and the final model folder (those that exist). */
    static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "added_tokens.json");

    /** HF's TrainOutput: the last step, the mean training loss and the run's metrics (train_runtime, …). */
    public record TrainOutput(int globalStep, double trainingLoss, Map<String, Object> metrics) {
    }

    /** Every evaluation row's outputs (one {@link ModelOutput} per batch, in order) and the metrics. */
    public record PredictionOutput(List<Batch> batches, List<ModelOutput> outputs, Map<String, Double> metrics) {
    }

    public Trainer(TrainableModel model, TrainingArguments args, List<ObjectNode> trainDataset,
                   List<ObjectNode> evalDataset, DataCollator collator) {
        this.model = model;
        this.args = args.validate();
        this.trainDataset = trainDataset == null ? List.of() : trainDataset;
        this.evalDataset = evalDataset;
        this.collator = collator;
    }

    public Trainer computeMetrics(Supplier<Metric> metrics) {
        this.computeMetrics = metrics;
        return this;
    }

    public Trainer tokenizerFiles(Path dir) {
        this.tokenizerDir = dir;
        return this;
    }

    public Trainer addCallback(TrainerCallback callback) {
        callbacks.add(callback);
        return this;
    }

    public TrainerState state() {
        return state;
    }

    public TrainingArguments args() {
        return args;
    }

    /** Stop after the current optimizer step and leave a resumable checkpoint (Ctrl-C). */
    public void requestStop() {
        stopRequested = true;
    }

    public boolean stopRequested() {
        return stopRequested;
    }

    public TrainOutput train() {
        return train(null);
    }

    /** Trains; with {@code resumeFromCheckpoint} (a checkpoint-N folder) continues that run where it stopped. */
    public TrainOutput train(Path resumeFromCheckpoint) {
        if (trainDataset.isEmpty()) {
            throw new JformersException("the training set is empty");
        }
        int batchSize = args.perDeviceTrainBatchSize;
        int batchesPerEpoch = args.dataloaderDropLast ? trainDataset.size() / batchSize
                : (trainDataset.size() + batchSize - 1) / batchSize;
        if (batchesPerEpoch == 0) {
            throw new JformersException("the training set (" + trainDataset.size() + " rows) is smaller than one batch ("
                    + batchSize + ") and dataloader_drop_last is set");
        }
        int updatesPerEpoch = Math.max(batchesPerEpoch / args.gradientAccumulationSteps, 1);
        int maxSteps, epochs;
        if (args.maxSteps > 0) {
            maxSteps = args.maxSteps;
            epochs = (maxSteps + updatesPerEpoch - 1) / updatesPerEpoch;
        } else {
            maxSteps = (int) Math.ceil(args.numTrainEpochs * updatesPerEpoch);
            epochs = (int) Math.ceil(args.numTrainEpochs);
        }
        int warmup = args.warmupSteps > 0 ? args.warmupSteps : (int) Math.ceil(maxSteps * args.warmupRatio);
        schedule = new LearningRateSchedule(LearningRateSchedule.kind(args.lrSchedulerType), args.learningRate, warmup,
                maxSteps);
        optimizer = createOptimizer();

        state = new TrainerState();
        if (resumeFromCheckpoint != null) {
            resume(resumeFromCheckpoint);
        }
        state.maxSteps = maxSteps;
        state.numTrainEpochs = epochs;
        state.loggingSteps = args.loggingSteps;
        state.evalSteps = args.evalSteps();
        state.saveSteps = args.saveSteps;
        state.trainBatchSize = batchSize;
        TrainerCallback.TrainerControl control = new TrainerCallback.TrainerControl();
        callbacks.forEach(c -> c.onTrainBegin(args, state, control));

        long start = System.nanoTime();
        int firstEpoch = state.globalStep / updatesPerEpoch;
        int batchesToSkip = (state.globalStep % updatesPerEpoch) * args.gradientAccumulationSteps;
        int stepsAtStart = state.globalStep, lastLoggedStep = state.globalStep;
        double lossSinceLog = 0, totalLoss = 0, stepLoss = 0;
        float gradNorm = 0;
        boolean stop = state.globalStep >= maxSteps;
        for (int epoch = firstEpoch; epoch < epochs && !stop; epoch++) {
            List<List<ObjectNode>> batches = batches(epoch, batchesPerEpoch);
            for (int b = epoch == firstEpoch ? batchesToSkip : 0; b < batches.size() && !stop; b++) {
                long batchSeed = mix(args.seed, (long) epoch * batchesPerEpoch + b);
                Batch batch = collator.collate(batches.get(b), new Random(batchSeed));
                model.autograd().seed(mix(batchSeed, 1));   // dropout masks per batch too: resuming replays them
                Tensor loss = model.forward(batch.input(), batch.labels()).get("loss");
                if (loss == null) {
                    throw new JformersException("the model returned no loss: the rows have no labels for its head");
                }
                state.totalFlos += model.floatingPointOps(batch.input());   // HF: current_flos, stored with the state
                float value = loss.toFloatArray()[0];
                model.backward(args.gradientAccumulationSteps == 1 ? loss
                        : model.autograd().scale(loss, 1f / args.gradientAccumulationSteps));
                lossSinceLog += (double) value / args.gradientAccumulationSteps;
                stepLoss += (double) value / args.gradientAccumulationSteps;
                boolean lastOfShortEpoch = batches.size() <= args.gradientAccumulationSteps && b + 1 == batches.size();
                if ((b + 1) % args.gradientAccumulationSteps != 0 && !lastOfShortEpoch) {
                    continue;
                }
                gradNorm = GradientClipping.clipGradNorm(model.trainableParameters(), args.maxGradNorm);
                model.step(optimizer, schedule.lr(state.globalStep));
                state.stepLoss = stepLoss;
                state.stepLearningRate = schedule.lr(state.globalStep);
                stepLoss = 0;
                state.globalStep++;
                state.epoch = epoch + (double) (b + 1) / batches.size();
                control.shouldLog = control.shouldEvaluate = control.shouldSave = false;
                callbacks.forEach(c -> c.onStepEnd(args, state, control));

                int step = state.globalStep;
                boolean endOfEpoch = b + 1 == batches.size() || b + args.gradientAccumulationSteps >= batches.size();
                if (step % args.loggingSteps == 0 || (args.loggingFirstStep && step == 1) || control.shouldLog) {
                    Map<String, Object> logs = new LinkedHashMap<>();
                    logs.put("loss", lossSinceLog / (step - lastLoggedStep));
                    logs.put("grad_norm", (double) gradNorm);
                    logs.put("learning_rate", schedule.lr(step));   // as Hugging Face: the scheduler's next lr
                    log(logs, control);
                    totalLoss += lossSinceLog;
                    lossSinceLog = 0;
                    lastLoggedStep = step;
                }
                boolean evaluateNow = control.shouldEvaluate
                        || (args.evaluationStrategy.equals("steps") && step % args.evalSteps() == 0)
                        || (args.evaluationStrategy.equals("epoch") && endOfEpoch);
                if (evaluateNow && evalDataset != null) {
                    evaluate(control);
                }
                stop = step >= maxSteps || control.shouldTrainingStop || stopRequested;
                boolean saveNow = control.shouldSave
                        || (args.saveStrategy.equals("steps") && step % args.saveSteps == 0)
                        || (args.saveStrategy.equals("epoch") && endOfEpoch)
                        || (stopRequested && !args.saveStrategy.equals("no"));
                if (saveNow || (stopRequested && step < maxSteps)) {
                    saveCheckpoint();
                    callbacks.forEach(c -> c.onSave(args, state, control));
                }
            }
        }
        totalLoss += lossSinceLog;
        if (args.loadBestModelAtEnd && state.bestModelCheckpoint != null
                && Files.isDirectory(Path.of(state.bestModelCheckpoint))) {
            loadWeights(Path.of(state.bestModelCheckpoint).resolve("model.safetensors"));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        int stepsDone = state.globalStep - stepsAtStart;
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("train_runtime", seconds);
        summary.put("train_samples_per_second", stepsDone * (double) batchSize * args.gradientAccumulationSteps / seconds);
        summary.put("train_steps_per_second", stepsDone / seconds);
        summary.put("total_flos", state.totalFlos);
        summary.put("train_loss", stepsDone == 0 ? 0.0 : totalLoss / stepsDone);
        log(summary, control);
        callbacks.forEach(c -> c.onTrainEnd(args, state, control));
        return new TrainOutput(state.globalStep, stepsDone == 0 ? 0.0 : totalLoss / stepsDone, summary);
    }

    /** Deterministic per (seed, index): a resumed run builds the same batches and masks. */
    private static long mix(long seed, long index) {
        long z = seed * 0x9E3779B97F4A7C15L + index;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The epoch's batches: rows shuffled with a seed of (seed, epoch), or in order; optionally length-grouped. */
    private List<List<ObjectNode>> batches(int epoch, int count) {
        List<Integer> order = new ArrayList<>(IntStream.range(0, trainDataset.size()).boxed().toList());
        if (args.shuffle) {
            Collections.shuffle(order, new Random(mix(args.seed, -1 - epoch)));
        }
        int bs = args.perDeviceTrainBatchSize;
        if (args.groupByLength) {   // HF's LengthGroupedSampler: mega-batches of 50 batches, longest first inside each,
            int mega = 50 * bs;     // and the longest row of all at the very front (an out-of-memory error comes first)
            Comparator<Integer> longestFirst = Comparator.comparingInt(
                    (Integer r) -> trainDataset.get(r).path("input_ids").size()).reversed();
            int longest = 0;
            for (int i = 0; i < order.size(); i += mega) {
                order.subList(i, Math.min(order.size(), i + mega)).sort(longestFirst);
                if (longestFirst.compare(order.get(i), order.get(longest)) < 0) {
                    longest = i;
                }
            }
            Collections.swap(order, 0, longest);
        }
        List<List<ObjectNode>> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            List<ObjectNode> rows = new ArrayList<>(bs);
            for (int r = i * bs; r < Math.min(order.size(), (i + 1) * bs); r++) {
                rows.add(trainDataset.get(order.get(r)));
            }
            out.add(rows);
        }
        return out;
    }

    private Optimizer createOptimizer() {
        List<AdamW.Group> groups = model.parameterGroups(args.weightDecay);
        if (args.optim.equals("sgd")) {   // torch.optim.SGD(groups, lr): the decay group's L2 decay, no momentum
            Sgd decay = new Sgd(groups.get(0).parameters(), 0, args.weightDecay);
            Sgd noDecay = new Sgd(groups.get(1).parameters(), 0, 0);
            return new Optimizer() {
                @Override
                public void step(double lr) {
                    decay.step(lr);
                    noDecay.step(lr);
                }
            };
        }
        return new AdamW(groups, args.adamBeta1, args.adamBeta2, args.adamEpsilon);
    }

    private void log(Map<String, Object> logs, TrainerCallback.TrainerControl control) {
        logs.put("epoch", state.epoch);
        logs.put("step", state.globalStep);
        state.logHistory.add(logs);
        callbacks.forEach(c -> c.onLog(args, state, control, logs));
    }

    private void evaluate(TrainerCallback.TrainerControl control) {
        Map<String, Double> metrics = evaluate();
        Map<String, Object> logs = new LinkedHashMap<>(metrics);
        log(logs, control);
        callbacks.forEach(c -> c.onEvaluate(args, state, control, metrics));
    }

    /** Loss and metrics on the evaluation set, with the "eval_" prefix (eval_loss, eval_accuracy…). */
    public Map<String, Double> evaluate() {
        if (evalDataset == null) {
            throw new JformersException("no evaluation set was given");
        }
        lastEvalMetrics = predict(evalDataset, "eval").metrics();
        return lastEvalMetrics;
    }

    /** The model's outputs on {@code rows} in order (batches of per_device_eval_batch_size), and test_* metrics. */
    public PredictionOutput predict(List<ObjectNode> rows) {
        return predict(rows, "test");
    }

    private PredictionOutput predict(List<ObjectNode> rows, String prefix) {
        if (rows.isEmpty()) {
            throw new JformersException("the " + (prefix.equals("eval") ? "evaluation" : "prediction") + " set is empty");
        }
        long start = System.nanoTime();
        var inference = model.eval();
        Metric metric = computeMetrics != null ? computeMetrics.get() : null;
        List<Batch> batches = new ArrayList<>();
        List<ModelOutput> outputs = new ArrayList<>();
        double lossSum = 0;
        boolean hasLoss = true;
        int bs = args.perDeviceEvalBatchSize;
        for (int i = 0; i < rows.size(); i += bs) {
            List<ObjectNode> batchRows = rows.subList(i, Math.min(rows.size(), i + bs));
            Batch batch = collator.collate(batchRows, new Random(mix(args.seed, i)));
            ModelOutput out = inference.forward(batch.input(), batch.labels());
            if (out.has("loss")) {
                lossSum += (double) out.get("loss").toFloatArray()[0] * batch.size();
            } else {
                hasLoss = false;
            }
            if (metric != null) {
                metric.add(batchRows, batch, out);
            }
            batches.add(batch);
            outputs.add(out);
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        if (hasLoss) {
            metrics.put(prefix + "_loss", lossSum / rows.size());
        }
        if (metric != null) {
            metric.compute().forEach((k, v) -> metrics.put(k.startsWith(prefix + "_") ? k : prefix + "_" + k, v));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        metrics.put(prefix + "_runtime", seconds);
        metrics.put(prefix + "_samples_per_second", rows.size() / seconds);
        metrics.put(prefix + "_samples", (double) rows.size());
        return new PredictionOutput(batches, outputs, metrics);
    }

    // ------------------------------------------------------------------------------------------- checkpoints

    /** Writes checkpoint-{global_step} (through tmp-checkpoint-N, then a rename) and drops the oldest ones. */
    private void saveCheckpoint() {
        Path out = args.outputPath();
        String name = "checkpoint-" + state.globalStep;
        Path tmp = out.resolve("tmp-" + name), dst = out.resolve(name);
        if (lastEvalMetrics != null && args.metricForBestModel() != null) {
            Double value = lastEvalMetrics.get(args.metricForBestModel());
            if (value != null && (state.bestMetric == null
                    || (args.greaterIsBetter() ? value > state.bestMetric : value < state.bestMetric))) {
                state.bestMetric = value;
                state.bestModelCheckpoint = dst.toString();
            }
        }
        try {
            deleteRecursively(tmp);
            saveModel(tmp);
            Map<String, Tensor> moments = new java.util.TreeMap<>();   // sorted by name, as safetensors writes them
            optimizer.state().forEach((k, v) -> moments.put(k, Tensor.of(v.clone(), v.length)));
            SafetensorsWriter.write(moments, Map.of("format", "pt", "optim", args.optim), tmp.resolve("optimizer.safetensors"));
            Map<String, Object> scheduler = new LinkedHashMap<>();
            scheduler.put("lr_scheduler_type", args.lrSchedulerType);
            scheduler.put("base_lrs", List.of(args.learningRate));
            scheduler.put("warmup_steps", schedule.warmupSteps());
            scheduler.put("total_steps", schedule.totalSteps());
            scheduler.put("last_epoch", state.globalStep);
            scheduler.put("_last_lr", List.of(schedule.lr(state.globalStep)));
            Files.writeString(tmp.resolve("scheduler.json"), TrainingArguments.JSON.writeValueAsString(scheduler));
            Map<String, Object> rng = new LinkedHashMap<>();
            rng.put("seed", args.seed);
            rng.put("note", "shuffling is seeded by (seed, epoch) and collation by (seed, batch): the seed is the whole state");
            Files.writeString(tmp.resolve("rng_state.json"), TrainingArguments.JSON.writeValueAsString(rng));
            state.write(tmp.resolve("trainer_state.json"));
            deleteRecursively(dst);
            Files.move(tmp, dst, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {   // a full disk: drop the partial copy, keep the last whole one
            try {
                deleteRecursively(tmp);
            } catch (IOException | RuntimeException ignored) {
                // the disk may refuse even this; tmp-checkpoint-N is never picked for resuming
            }
            Path last = lastCheckpoint(out);
            throw new JformersException("could not write " + dst + " (" + e.getMessage() + "); "
                    + (last == null ? "no earlier checkpoint exists" : last + " is intact: resume with --resume-from-checkpoint "
                    + last), e);
        }
        rotateCheckpoints();
    }

    /** The model, config, tokenizer files and training_args.json into {@code dir} (Hugging Face's save_model). */
    public void saveModel(Path dir) {
        model.savePretrained(dir);
        try {
            if (tokenizerDir != null && !Files.isSameFile(tokenizerDir.toAbsolutePath(), dir.toAbsolutePath())) {
                for (String f : TOKENIZER_FILES) {
                    if (Files.isRegularFile(tokenizerDir.resolve(f))) {
                        Files.copy(tokenizerDir.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
            Files.writeString(dir.resolve("training_args.json"), args.toJson());
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + dir + ": " + e.getMessage(), e);
        }
    }

    /** trainer_state.json into output_dir (Hugging Face's save_state). */
    public void saveState() {
        try {
            Files.createDirectories(args.outputPath());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        state.write(args.outputPath().resolve("trainer_state.json"));
    }

    /** save_total_limit: keep the newest N checkpoints and the best one. */
    private void rotateCheckpoints() {
        if (args.saveTotalLimit == null) {
            return;
        }
        List<Path> checkpoints = checkpoints(args.outputPath());
        int keep = args.saveTotalLimit;
        for (int i = 0; i < checkpoints.size() - keep; i++) {
            Path c = checkpoints.get(i);
            if (state.bestModelCheckpoint != null && c.toString().equals(state.bestModelCheckpoint)) {
                continue;
            }
            try {
                deleteRecursively(c);
            } catch (IOException e) {
                throw new UncheckedIOException("could not delete the old checkpoint " + c, e);
            }
        }
    }

    /** The checkpoint-N folders of {@code outputDir}, oldest (smallest N) first. */
    public static List<Path> checkpoints(Path outputDir) {
        if (!Files.isDirectory(outputDir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(outputDir)) {
            return s.filter(p -> Files.isDirectory(p) && p.getFileName().toString().matches("checkpoint-\\d+"))
                    .sorted(Comparator.comparingInt(p -> Integer.parseInt(p.getFileName().toString().substring(11))))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The newest checkpoint in {@code outputDir}, or null (HF's get_last_checkpoint). */
    public static Path lastCheckpoint(Path outputDir) {
        List<Path> all = checkpoints(outputDir);
        return all.isEmpty() ? null : all.getLast();
    }

    private void resume(Path checkpoint) {
        Path stateFile = checkpoint.resolve("trainer_state.json");
        if (!Files.isRegularFile(stateFile)) {
            throw new JformersException(checkpoint + " is not a checkpoint (no trainer_state.json)");
        }
        state = TrainerState.read(stateFile);
        loadWeights(checkpoint.resolve("model.safetensors"));
        Path moments = checkpoint.resolve("optimizer.safetensors");
        if (Files.isRegularFile(moments)) {
            Map<String, float[]> saved = new LinkedHashMap<>();
            try (SafetensorsFile f = SafetensorsFile.open(moments)) {
                for (String n : f.names()) {
                    saved.put(n, f.get(n).toFloatArray());
                }
            }
            optimizer.loadState(saved);
        }
    }

    /** Copies a saved model's values into the parameters (resume, load_best_model_at_end). */
    private void loadWeights(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (Parameter p : model.parameters()) {
                if (!f.names().contains(p.name())) {
                    throw new JformersException(file + " has no " + p.name());
                }
                float[] values = f.get(p.name()).toFloatArray();
                if (values.length != p.size()) {
                    throw new JformersException(file + ": " + p.name() + " has " + values.length + " values, the model "
                            + p.size());
                }
                System.arraycopy(values, 0, p.data(), p.offset(), values.length);
            }
        }
        model.autograd().weightsChanged();
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
