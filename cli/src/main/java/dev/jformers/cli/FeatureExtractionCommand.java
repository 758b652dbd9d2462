package dev.jformers.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.pipelines.FeatureExtractionPipeline;
import dev.jformers.pipelines.Pipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/** {@code jformers feature-extraction} (alias embed): token embeddings, or one pooled vector per text. */
@Command(name = "feature-extraction", aliases = "embed", mixinStandardHelpOptions = true,
        description = {"Token embeddings (HF's feature-extraction: [1][T][H] per TEXT), or with --pooling one vector per TEXT.",
                "Example: jformers embed --pooling=mean --normalize 'Hello world!'"})
final class FeatureExtractionCommand extends PipelineCommand {
    @Parameters(paramLabel = "TEXT", arity = "0..*")
    List<String> texts;

    @Option(names = "--pooling", paramLabel = "P", description = "mean | cls: one vector per text (sentence embedding)")
    String pooling;

    @Option(names = "--normalize", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
            description = "L2-normalise pooled vectors")
    boolean normalize;

    @Mixin
    TruncationFlags truncationFlags;

    @Override
    void configure(Pipeline pipeline) {
        truncationFlags.apply(pipeline);
    }

    @Override
    String task() {
        return "feature-extraction";
    }

    @Override
    List<String> arguments() {
        return texts == null ? List.of() : texts;
    }

    @Override
    void validate() {
        truncationFlags.validate();
        if (normalize && pooling == null) {
            throw usage("--normalize needs --pooling=mean|cls");
        }
        if (pooling != null) {
            FeatureExtractionPipeline.Pooling.parse(pooling);
        }
    }

    private FeatureExtractionPipeline.Options featureOptions() {
        FeatureExtractionPipeline.Pooling pool = pooling == null ? null : FeatureExtractionPipeline.Pooling.parse(pooling);
        return new FeatureExtractionPipeline.Options(Boolean.TRUE.equals(truncationFlags.truncation), pool, normalize);
    }

    @Override
    List<Object> callRecords(Pipeline pipeline, List<JsonNode> records) {
        return ((FeatureExtractionPipeline) pipeline).call(records.stream().map(r -> field(r, "text")).toList(), featureOptions());
    }

    @Override
    void run(Pipeline pipeline, PrintWriter out) throws Exception {
        FeatureExtractionPipeline p = (FeatureExtractionPipeline) pipeline;
        FeatureExtractionPipeline.Options o = featureOptions();
        FeatureExtractionPipeline.Pooling pool = o.pooling();
        if (json) {
            out.println(toJson(texts.size() == 1 ? p.call(texts.get(0), o) : p.call(texts, o)));
            return;
        }
        for (String text : texts) {
            out.println(text);
            if (pool != null) {
                float[] v = p.sentenceEmbedding(text, pool, normalize);
                out.println("  [" + v.length + "] " + format(v));
                continue;
            }
            float[][] tokens = p.tokenEmbeddings(text, o.truncation());
            List<String> names = p.tokenizer().encode(text).tokens();
            out.println("  [1][" + tokens.length + "][" + (tokens.length == 0 ? 0 : tokens[0].length) + "]");
            for (int i = 0; i < tokens.length; i++) {
                out.printf("  %-4d %-14s %s%n", i, i < names.size() ? names.get(i) : "", format(tokens[i]));
            }
        }
    }

    private static String format(float[] v) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(String.format(Locale.ROOT, "%.4f", v[i]));
        }
        return sb.toString();
    }
}
