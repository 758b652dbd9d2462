package dev.jformers.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
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

    @Option(names = "--input-file", paramLabel = "FILE|-",
            description = "read the inputs from FILE ('-': standard input), one per line: a text, or a JSON object with the"
                    + " pipeline's fields (text, text_pair, question, context); writes one JSON line per input as it goes")
    String inputFile;

    @Option(names = "--batch-size", paramLabel = "N",
            description = "inputs per forward pass for several inputs (default " + Pipeline.DEFAULT_BATCH_SIZE + ")")
    Integer batchSize;

    @Mixin
    ModelOptions options;

    @Spec
    CommandLine.Model.CommandSpec spec;

    /** The pipeline task this command runs. */
    abstract String task();

    /** Runs the pipeline and prints. */
    abstract void run(Pipeline pipeline, PrintWriter out) throws Exception;

    /** The inputs given as arguments (texts, questions); null when the command checks its arguments itself. */
    List<String> arguments() {
        return null;
    }

    /** Checks the options before a model is loaded; throws {@link #usage} for a bad one. */
    void validate() {
    }

    /** Sets what the command's options say on the loaded pipeline (truncation, …) before any input runs. */
    void configure(Pipeline pipeline) {
    }

    /**
     * HF's result for each input read from --input-file, in order; a record holds the pipeline's fields
     * ({@code text}, …), a plain line becomes {@code {"text": line}}.
     */
    List<Object> callRecords(Pipeline pipeline, List<JsonNode> records) throws Exception {
        throw usage("--input-file is not supported by " + spec.name());
    }

    @Override
    public Integer call() throws Exception {
        boolean haveArguments = arguments() != null && !arguments().isEmpty();
        if (inputFile != null && haveArguments) {
            throw usage("give inputs as arguments or with --input-file, not both");
        }
        if (inputFile == null && !haveArguments && arguments() != null) {
            String label = spec.positionalParameters().isEmpty() ? "input" : spec.positionalParameters().getFirst().paramLabel();
            throw usage("no " + label + " given: pass it as an argument, or --input-file FILE (- for standard input)");
        }
        if (batchSize != null && batchSize < 1) {
            throw usage("--batch-size must be at least 1, got " + batchSize);
        }
        validate();
        InputRecords records = inputFile == null ? null : InputRecords.open(inputFile);   // a missing file fails before loading
        try (records; Backend backend = options.createBackend(); Pipeline p = load(backend)) {
            if (batchSize != null) {
                p.setBatchSize(batchSize);
            }
            configure(p);
            PrintWriter out = spec.commandLine().getOut();
            if (records == null) {
                run(p, out);
            } else {
                // Chunks of a few batches: results are written as they come, memory stays flat on any input size.
                for (List<JsonNode> chunk; !(chunk = records.next(4 * p.batchSize())).isEmpty(); ) {
                    for (Object result : callRecords(p, chunk)) {
                        out.println(toJson(result));
                    }
                    out.flush();
                }
            }
            out.flush();
        }
        return 0;
    }

    /** A usage error (exit code 2) of this command. */
    CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    /** A record's text field, or a one-line error naming the record. */
    static String field(JsonNode record, String name) {
        JsonNode v = record.get(name);
        if (v == null || !v.isTextual()) {
            throw new PipelineException("input record " + record + " has no text field \"" + name + "\"");
        }
        return v.asText();
    }

    /** An optional text field: null when absent. */
    static String optionalField(JsonNode record, String name, String fallback) {
        JsonNode v = record.get(name);
        return v == null || v.isNull() ? fallback : v.asText();
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
