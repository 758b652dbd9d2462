package dev.jformers.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.pipelines.Pipeline;
import dev.jformers.pipelines.TextClassificationPipeline;
import dev.jformers.pipelines.TextClassificationPipeline.Input;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.List;

/** {@code jformers text-classification} (alias sentiment-analysis): HF's text-classification pipeline. */
@Command(name = "text-classification", aliases = "sentiment-analysis", mixinStandardHelpOptions = true,
        description = {"Classify each TEXT (or TEXT with --text-pair) (HF's text-classification pipeline).",
                "Example: jformers sentiment-analysis --top-k=none 'I love this movie!'"})
final class TextClassificationCommand extends PipelineCommand {
    @Parameters(paramLabel = "TEXT", arity = "0..*")
    List<String> texts;

    @Option(names = "--top-k", paramLabel = "K|none",
            description = "labels to return, best first; 'none' for all (default: HF's legacy top label)")
    String topK;

    @Option(names = "--function-to-apply", paramLabel = "F", description = "softmax | sigmoid | none (default: from the config)")
    String functionToApply;

    @Option(names = "--return-all-scores", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
            description = "deprecated HF option: all labels in label order")
    Boolean returnAllScores;

    @Option(names = "--text-pair", paramLabel = "TEXT", description = "second sequence, paired with each TEXT")
    String textPair;

    @Mixin
    TruncationFlags truncationFlags;

    @Override
    void configure(Pipeline pipeline) {
        truncationFlags.apply(pipeline);
    }

    @Override
    String task() {
        return "text-classification";
    }

    TextClassificationPipeline.Options options() {
        TextClassificationPipeline.Options o = TextClassificationPipeline.Options.defaults();
        if (topK != null) {
            if (topK.equalsIgnoreCase("none") || topK.equalsIgnoreCase("all")) {
                o = o.withAllLabels();
            } else {
                try {
                    o = o.withTopK(Integer.parseInt(topK));
                } catch (NumberFormatException e) {
                    throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                            "--top-k must be a number or 'none', got '" + topK + "'");
                }
            }
        }
        if (functionToApply != null) {
            o = o.withFunctionToApply(TextClassificationPipeline.Function.parse(functionToApply));
        }
        if (returnAllScores != null) {
            o = o.withReturnAllScores(returnAllScores);
        }
        return o;
    }

    @Override
    List<String> arguments() {
        return texts == null ? List.of() : texts;
    }

    @Override
    void validate() {
        truncationFlags.validate();
        options();
    }

    @Override
    List<Object> callRecords(Pipeline pipeline, List<JsonNode> records) {
        List<Input> inputs = records.stream().map(r -> new Input(field(r, "text"), optionalField(r, "text_pair", textPair))).toList();
        return ((TextClassificationPipeline) pipeline).call(inputs, options());
    }

    @Override
    void run(Pipeline pipeline, PrintWriter out) throws Exception {
        TextClassificationPipeline p = (TextClassificationPipeline) pipeline;
        TextClassificationPipeline.Options o = options();
        List<Input> inputs = texts.stream().map(t -> new Input(t, textPair)).toList();
        if (json) {
            Object r;
            if (texts.size() > 1) {
                r = p.call(inputs, o);
            } else if (textPair != null) {
                r = p.call(inputs.get(0), o);
            } else {
                r = p.call(texts.get(0), o);
            }
            out.println(toJson(r));
            return;
        }
        Integer k = o.topKGiven() ? o.topK() : Boolean.TRUE.equals(o.returnAllScores()) ? null : Integer.valueOf(1);
        for (Input in : inputs) {
            out.println(in.textPair() == null ? in.text() : in.text() + "  |  " + in.textPair());
            for (TextClassificationPipeline.LabelScore ls : p.classify(in, k, o.functionToApply())) {
                out.printf("  %-24s %s%n", ls.label(), score(ls.score()));
            }
        }
    }
}
