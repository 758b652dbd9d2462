package dev.jformers.cli;

import dev.jformers.core.Backend;
import dev.jformers.core.JformersException;
import dev.jformers.models.hub.ModelResolver;
import dev.jformers.training.EarlyStoppingCallback;
import dev.jformers.training.TaskData;
import dev.jformers.training.TrainableModel;
import dev.jformers.training.Trainer;
import dev.jformers.training.TrainingArguments;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;

/**
 * {@code jformers train [TASK]}: fine-tunes (or trains from scratch) with the {@link Trainer}, Hugging Face's
 * {@code run_glue.py}/{@code run_mlm.py}/{@code run_clm.py} in one command. Options are TrainingArguments in
 * kebab case. Without TASK, the class in config.json's {@code architectures} trains with its own loss on
 * pre-tokenized JSONL rows ({@code input_ids}, {@code attention_mask}, {@code labels}…).
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fine-tune a model (Hugging Face's Trainer). TASK: text-classification, token-classification,",
                "question-answering, fill-mask, text-generation;",
                "without TASK: pre-tokenized JSONL rows for the class in config.json's architectures.",
                "Example: jformers train text-classification --model sentence-transformers/all-MiniLM-L6-v2 "
                        + "--train train.jsonl --eval dev.jsonl --output spam-model"})
final class TrainCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "TASK",
            description = "text-classification | token-classification | question-answering | fill-mask | text-generation"
                    + " (default: pre-tokenized rows)")
    String task;

    @Option(names = "--model", paramLabel = "M", description = "model folder or id to start from")
    String model;

    @Option(names = "--config", paramLabel = "FILE", description = "config.json to train from scratch (HF initialisation)")
    Path config;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "tokenizer files (default: the model's folder)")
    Path tokenizer;

    @Option(names = "--train", required = true, paramLabel = "FILE", description = "training data (JSONL, JSON, CSV, or text for LM tasks)")
    Path train;

    @Option(names = "--eval", paramLabel = "FILE", description = "evaluation data, same layout")
    Path eval;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "output_dir: checkpoints and the final model")
    Path output;

    @Option(names = "--overwrite-output-dir", description = "train into a folder that holds another run")
    boolean overwriteOutputDir;

    @Option(names = "--resume-from-checkpoint", paramLabel = "DIR|last",
            description = "continue from checkpoint-N ('last', 'latest' or 'true': the newest in --output)")
    String resumeFromCheckpoint;

    @Option(names = "--num-train-epochs", paramLabel = "N") Double numTrainEpochs;
    @Option(names = "--max-steps", paramLabel = "N") Integer maxSteps;
    @Option(names = "--per-device-train-batch-size", paramLabel = "N") Integer perDeviceTrainBatchSize;
    @Option(names = "--per-device-eval-batch-size", paramLabel = "N") Integer perDeviceEvalBatchSize;
    @Option(names = "--gradient-accumulation-steps", paramLabel = "N") Integer gradientAccumulationSteps;
    @Option(names = "--learning-rate", paramLabel = "LR") Double learningRate;
    @Option(names = "--weight-decay", paramLabel = "WD") Double weightDecay;
    @Option(names = "--adam-beta1", paramLabel = "B") Double adamBeta1;
    @Option(names = "--adam-beta2", paramLabel = "B") Double adamBeta2;
    @Option(names = "--adam-epsilon", paramLabel = "E") Double adamEpsilon;
    @Option(names = "--max-grad-norm", paramLabel = "N", description = "0: no clipping") Double maxGradNorm;
    @Option(names = "--optim", paramLabel = "NAME", description = "adamw_torch | sgd") String optim;
    @Option(names = "--lr-scheduler-type", paramLabel = "NAME", description = "linear | cosine | constant | constant_with_warmup") String lrSchedulerType;
    @Option(names = "--warmup-steps", paramLabel = "N") Integer warmupSteps;
    @Option(names = "--warmup-ratio", paramLabel = "R") Double warmupRatio;
    @Option(names = "--logging-steps", paramLabel = "N") Integer loggingSteps;
    @Option(names = {"--evaluation-strategy", "--eval-strategy"}, paramLabel = "S", description = "no | steps | epoch (default: epoch with --eval)") String evaluationStrategy;
    @Option(names = "--eval-steps", paramLabel = "N") Integer evalSteps;
    @Option(names = "--save-strategy", paramLabel = "S", description = "no | steps | epoch") String saveStrategy;
    @Option(names = "--save-steps", paramLabel = "N") Integer saveSteps;
    @Option(names = "--save-total-limit", paramLabel = "N") Integer saveTotalLimit;
    @Option(names = "--load-best-model-at-end") boolean loadBestModelAtEnd;
    @Option(names = "--metric-for-best-model", paramLabel = "NAME") String metricForBestModel;
    @Option(names = "--early-stopping-patience", paramLabel = "N", description = "stop after N evaluations without improvement") Integer earlyStoppingPatience;
    @Option(names = "--seed", paramLabel = "N") Integer seed;
    @Option(names = "--no-shuffle", description = "rows in file order (Hugging Face always shuffles)") boolean noShuffle;
    @Option(names = "--group-by-length") boolean groupByLength;

    @Option(names = "--json", description = "print the final metrics as one JSON object") boolean json;
    @Option(names = {"--disable-tqdm", "--no-progress"},
            description = "no progress bar on a terminal: log entries as JSON lines, as in a pipe or a log file")
    boolean disableTqdm;

    @Mixin
    DataOptions data;

    @Mixin
    ModelOptions options;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (task != null) {
            DataOptions.canonical(task, spec);
        }
        if (eval == null && (evaluationStrategy != null && !evaluationStrategy.equals("no") || loadBestModelAtEnd
                || earlyStoppingPatience != null)) {
            throw usage("evaluating during training (--evaluation-strategy, --load-best-model-at-end, "
                    + "--early-stopping-patience) needs --eval FILE");
        }
        TrainingArguments args = arguments();
        if ((model == null) == (config == null)) {
            throw usage("give --model (fine-tuning) or --config (training from scratch), not both");
        }
        if (config != null && task == null) {
            throw usage("--config needs a TASK (text-classification, token-classification, question-answering, fill-mask, "
                    + "text-generation)");
        }
        Path resume = resumeCheckpoint();
        refuseAnotherRun(resume);
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Path start = model != null ? ModelResolver.resolve(model) : null;
        try (Backend backend = options.createBackend()) {
            TaskData.Prepared data = prepare(start, err);
            try (TrainableModel m = data.model().apply(backend)) {
                Trainer trainer = new Trainer(m, args, data.train(), data.eval(), data.collator())
                        .tokenizerFiles(data.tokenizerDir());
                if (data.metric() != null) {
                    trainer.computeMetrics(data.metric());
                }
                if (earlyStoppingPatience != null) {
                    trainer.addCallback(new EarlyStoppingCallback(earlyStoppingPatience, 0.0));
                }
                TrainingProgress progress = new TrainingProgress(err, !disableTqdm && TrainingProgress.stderrIsTerminal());
                trainer.addCallback(progress);
                CountDownLatch done = new CountDownLatch(1);
                Thread hook = new Thread(() -> {      // Ctrl-C: finish the step, leave a resumable checkpoint
                    trainer.requestStop();
                    try {
                        done.await();
                    } catch (InterruptedException ignored) {
                        Thread.currentThread().interrupt();
                    }
                });
                Runtime.getRuntime().addShutdownHook(hook);
                try {
                    Trainer.TrainOutput result = trainer.train(resume);
                    if (trainer.stopRequested() && trainer.state().globalStep < trainer.state().maxSteps) {
                        err.println("jformers: stopped after step " + trainer.state().globalStep + " (interrupted); "
                                + "continue with --resume-from-checkpoint " + Trainer.lastCheckpoint(args.outputPath()));
                    }
                    trainer.saveModel(args.outputPath());
                    trainer.saveState();
                    if (LossCurve.write(trainer.state().logHistory, "jformers train " + (task == null ? "" : task)
                            + " — " + args.outputPath().getFileName(), args.outputPath().resolve("loss_curve.png"))) {
                        err.println("jformers: drew the loss curve in " + args.outputPath().resolve("loss_curve.png"));
                    }
                    Map<String, Object> metrics = new java.util.LinkedHashMap<>(result.metrics());
                    if (data.eval() != null && !trainer.stopRequested()) {
                        metrics.putAll(trainer.evaluate());
                    }
                    if (json) {
                        out.println(PipelineCommand.toJson(metrics));
                    } else {
                        out.println("saved the model to " + args.outputPath());
                        metrics.forEach((k, v) -> out.printf(Locale.ROOT, "  %-28s %s%n", k, v));
                    }
                } finally {
                    progress.close();
                    done.countDown();
                    try {
                        Runtime.getRuntime().removeShutdownHook(hook);
                    } catch (IllegalStateException shuttingDown) {
                        // the hook is running: it returns now that training is over
                    }
                }
            }
        }
        out.flush();
        return 0;
    }

    private TaskData.Prepared prepare(Path start, PrintWriter err) {
        String t = task == null ? null : DataOptions.canonical(task);
        int length = this.data.maxLength(t);
        TaskData.Prepared data = TaskData.prepare(this.data.options(t, start, config, tokenizer, train, eval, output,
                seed == null ? 42 : seed));
        this.data.applyWholeWordMask(data, t);
        if (data.maxLength() < length && t != null && !t.equals("fill-mask") && !t.equals("text-generation")) {
            err.println("jformers: --max-length " + length + " is more than the model takes: using " + data.maxLength());
        }
        if (data.truncated() > 0) {
            err.println("jformers: " + data.truncated() + (data.truncated() == 1 ? " text was" : " texts were")
                    + " longer than " + data.maxLength() + " tokens and truncated");
        }
        return data;
    }

    private TrainingArguments arguments() {
        TrainingArguments a = new TrainingArguments(output);
        a.overwriteOutputDir = overwriteOutputDir;
        if (numTrainEpochs != null) a.numTrainEpochs = numTrainEpochs;
        if (maxSteps != null) a.maxSteps = maxSteps;
        if (perDeviceTrainBatchSize != null) a.perDeviceTrainBatchSize = perDeviceTrainBatchSize;
        if (perDeviceEvalBatchSize != null) a.perDeviceEvalBatchSize = perDeviceEvalBatchSize;
        if (gradientAccumulationSteps != null) a.gradientAccumulationSteps = gradientAccumulationSteps;
        if (learningRate != null) a.learningRate = learningRate;
        if (weightDecay != null) a.weightDecay = weightDecay;
        if (adamBeta1 != null) a.adamBeta1 = adamBeta1;
        if (adamBeta2 != null) a.adamBeta2 = adamBeta2;
        if (adamEpsilon != null) a.adamEpsilon = adamEpsilon;
        if (maxGradNorm != null) a.maxGradNorm = maxGradNorm;
        if (optim != null) a.optim = optim;
        if (lrSchedulerType != null) a.lrSchedulerType = lrSchedulerType;
        if (warmupSteps != null) a.warmupSteps = warmupSteps;
        if (warmupRatio != null) a.warmupRatio = warmupRatio;
        if (loggingSteps != null) a.loggingSteps = loggingSteps;
        a.evaluationStrategy = evaluationStrategy != null ? evaluationStrategy : eval != null ? "epoch" : "no";
        if (evalSteps != null) a.evalSteps = evalSteps;
        if (saveStrategy != null) {
            a.saveStrategy = saveStrategy;
        } else if (loadBestModelAtEnd) {
            a.saveStrategy = a.evaluationStrategy;
        }
        if (saveSteps != null) a.saveSteps = saveSteps;
        a.saveTotalLimit = saveTotalLimit;
        a.loadBestModelAtEnd = loadBestModelAtEnd || earlyStoppingPatience != null;
        if (earlyStoppingPatience != null && saveStrategy == null) a.saveStrategy = a.evaluationStrategy;
        a.metricForBestModel = metricForBestModel;
        if (seed != null) a.seed = seed;
        a.shuffle = !noShuffle;
        a.groupByLength = groupByLength;
        try {
            return a.validate();
        } catch (JformersException e) {
            throw usage(e.getMessage());
        }
    }

    private Path resumeCheckpoint() {
        if (resumeFromCheckpoint == null) {
            return null;
        }
        if (List.of("true", "last", "latest").contains(resumeFromCheckpoint.toLowerCase(Locale.ROOT))) {
            Path last = Trainer.lastCheckpoint(output);   // Hugging Face's train(resume_from_checkpoint=True)
            if (last == null) {
                throw new JformersException(output + " has no checkpoint-N folder to resume from");
            }
            return last;
        }
        Path dir = Path.of(resumeFromCheckpoint);
        if (!Files.isRegularFile(dir.resolve("trainer_state.json"))) {
            throw new JformersException(dir + " is not a checkpoint (no trainer_state.json); give a checkpoint-N folder, "
                    + "or 'last' for the newest in --output");
        }
        return dir;
    }

    /** Hugging Face refuses an output_dir that holds another run unless --overwrite-output-dir. */
    private void refuseAnotherRun(Path resume) throws IOException {
        if (resume != null || overwriteOutputDir || !Files.isDirectory(output)) {
            return;
        }
        try (Stream<Path> s = Files.list(output)) {
            if (s.findAny().isPresent()) {
                throw usage(output + " is not empty (it holds another run): pass --overwrite-output-dir, "
                        + "--resume-from-checkpoint, or another --output");
            }
        }
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    /** One-line JSON of a log entry. */
    static final class PipelineCommandJson {
        static String line(Map<String, Object> logs) {
            try {
                return PipelineCommand.toJson(logs);
            } catch (Exception e) {
                return logs.toString();
            }
        }
    }
}
