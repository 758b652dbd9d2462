package dev.jformers.cli;

import dev.jformers.core.Backend;
import dev.jformers.models.hub.ModelResolver;
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

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code jformers evaluate TASK --model DIR --data FILE}: the metrics {@code train} reports at each evaluation —
 * accuracy and macro-F1 with the loss (text-classification), seqeval's entity precision/recall/F1
 * (token-classification), SQuAD's exact match and F1 (question-answering), loss and perplexity (text-generation,
 * fill-mask on a plain-text file cut into blocks as in training).
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluate a trained model on a data file (the metrics of 'jformers train').",
                "Example: jformers evaluate text-classification --model spam-model --data dev.jsonl --json"})
final class EvaluateCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "TASK",
            description = "text-classification | token-classification | question-answering | fill-mask | text-generation"
                    + " (default: pre-tokenized rows, loss only)")
    String task;

    @Option(names = "--model", required = true, paramLabel = "M", description = "the trained model's folder (or id)")
    String model;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "JSONL/CSV rows, or text for LM tasks")
    Path data;

    @Option(names = "--per-device-eval-batch-size", paramLabel = "N", defaultValue = "8") int batchSize;
    @Option(names = "--seed", paramLabel = "N", defaultValue = "42") int seed;
    @Option(names = "--json", description = "print the metrics as one JSON object") boolean json;

    @Mixin
    DataOptions dataOptions;

    @Mixin
    ModelOptions options;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        String t = task == null ? null : DataOptions.canonical(task, spec);   // usage errors before any loading
        Path dir = ModelResolver.resolve(model);
        Path scratch = Files.createTempDirectory("jformers-evaluate");
        try {
            TaskData.Prepared p = TaskData.forEvaluation(dataOptions.options(t, dir, null, null, null, data, scratch, seed));
            dataOptions.applyWholeWordMask(p, t);
            TrainingArguments args = new TrainingArguments(scratch);
            args.perDeviceEvalBatchSize = batchSize;
            args.seed = seed;
            args.saveStrategy = "no";
            Map<String, Object> metrics = new LinkedHashMap<>();
            try (Backend backend = options.createBackend(); TrainableModel m = p.model().apply(backend)) {
                Trainer trainer = new Trainer(m, args, null, p.eval(), p.collator());
                if (p.metric() != null) {
                    trainer.computeMetrics(p.metric());
                }
                trainer.evaluate().forEach((k, v) -> {
                    String name = k.substring("eval_".length());
                    if (!name.equals("runtime") && !name.equals("samples_per_second")) {
                        metrics.put(name, name.equals("samples") ? (Object) v.intValue() : v);
                    }
                });
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(PipelineCommand.toJson(metrics));
            } else {
                metrics.forEach((k, v) -> out.printf(Locale.ROOT, "%-12s %s%n", k, v));
            }
            out.flush();
            return 0;
        } finally {
            Files.deleteIfExists(scratch);
        }
    }
}
