package dev.jformers.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.jformers.core.Backend;
import dev.jformers.pipelines.Pipeline;
import dev.jformers.pipelines.PipelineException;
import dev.jformers.pipelines.Pipelines;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * What the pipeline commands share: {@code --model}, {@code --backend}/{@code --threads}, {@code --json}, and
 * loading the pipeline. {@code --json} prints exactly what HF's pipeline returns (same keys and nesting) on one
 * line; without it, a readable table.
 */
abstract class PipelineCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "M",
            description = "model folder or model id (default: the task's default model)")
    String model;

    @Option(names = "--json", description = "print Hugging Face's output structure as JSON")
    boolean json;

    @Mixin
    ModelOptions options;

    @Spec
    CommandLine.Model.CommandSpec spec;

    /** The pipeline task this command runs. */
    abstract String task();

    /** Runs the pipeline and prints. */
    abstract void run(Pipeline pipeline, PrintWriter out) throws Exception;

    @Override
    public Integer call() throws Exception {
        try (Backend backend = options.createBackend(); Pipeline p = load(backend)) {
            PrintWriter out = spec.commandLine().getOut();
            run(p, out);
            out.flush();
        }
        return 0;
    }

    private Pipeline load(Backend backend) {
        if (model != null) {
            return Pipelines.pipeline(task(), model, backend);
        }
        String dflt = Pipelines.defaultModel(task());
        try {
            return Pipelines.pipeline(task(), dflt, backend);
        } catch (RuntimeException e) {
            // The resolver's message says where it looked and what to pass instead.
            throw new PipelineException("no --model given, and the default model for " + task() + " is not available: "
                    + Main.oneLine(e));
        }
    }

    /** One-line JSON of a pipeline result. */
    static String toJson(Object result) throws JsonProcessingException {
        return Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(result);
    }

    /** A comma-separated list option with empty items dropped ("--ignore-labels=" gives an empty list). */
    static List<String> nonEmpty(List<String> items) {
        return items == null ? null : items.stream().filter(s -> !s.isBlank()).toList(); // not trimmed: " Paris" is a RoBERTa target
    }

    static String score(float s) {
        return String.format(java.util.Locale.ROOT, "%.4f", s);
    }
}
