package dev.jformers.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.pipelines.FillMaskPipeline;
import dev.jformers.pipelines.Pipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.List;

/** {@code jformers fill-mask}: HF's fill-mask pipeline. */
@Command(name = "fill-mask", mixinStandardHelpOptions = true,
        description = {"Predict the masked token(s) of each TEXT (HF's fill-mask pipeline).",
                "Example: jformers fill-mask --top-k=3 'Paris is the [MASK] of France.'"})
final class FillMaskCommand extends PipelineCommand {
    @Parameters(paramLabel = "TEXT", arity = "0..*", description = "texts holding the mask token ([MASK], <mask>…)")
    List<String> texts;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "5", description = "candidates per mask (default ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--targets", paramLabel = "WORD", split = ",", description = "only score these words (comma-separated)")
    List<String> targets;

    @Mixin
    TruncationFlags truncationFlags;

    @Override
    void configure(Pipeline pipeline) {
        truncationFlags.apply(pipeline);
    }

    @Override
    String task() {
        return "fill-mask";
    }

    @Override
    List<String> arguments() {
        return texts == null ? List.of() : texts;
    }

    @Override
    void validate() {
        truncationFlags.validate();
        if (topK < 1) {
            throw usage("--top-k (HF's top_k) must be at least 1, got " + topK);
        }
    }

    private FillMaskPipeline.Options fillOptions() {
        return FillMaskPipeline.Options.defaults().withTopK(topK).withTargets(nonEmpty(targets));
    }

    @Override
    List<Object> callRecords(Pipeline pipeline, List<JsonNode> records) {
        List<String> in = records.stream().map(r -> field(r, "text")).toList();
        return ((FillMaskPipeline) pipeline).fillAll(in, fillOptions()).stream()
                .map(r -> (Object) (r.size() == 1 ? r.getFirst() : r)).toList();
    }

    @Override
    void run(Pipeline pipeline, PrintWriter out) throws Exception {
        FillMaskPipeline p = (FillMaskPipeline) pipeline;
        FillMaskPipeline.Options o = fillOptions();
        if (json) {
            out.println(toJson(texts.size() == 1 ? p.call(texts.get(0), o) : p.call(texts, o)));
            return;
        }
        for (String text : texts) {
            out.println(text);
            List<List<FillMaskPipeline.Candidate>> perMask = p.fill(text, o);
            for (int m = 0; m < perMask.size(); m++) {
                if (perMask.size() > 1) {
                    out.println("  mask " + (m + 1) + ":");
                }
                out.printf("  %-8s %-8s %-16s %s%n", "score", "token", "token_str", "sequence");
                for (FillMaskPipeline.Candidate c : perMask.get(m)) {
                    out.printf("  %-8s %-8d %-16s %s%n", score(c.score()), c.token(), c.tokenStr(), c.sequence());
                }
            }
        }
    }
}
