package dev.jformers.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.pipelines.Pipeline;
import dev.jformers.pipelines.PipelineException;
import dev.jformers.pipelines.TokenClassificationPipeline;
import dev.jformers.pipelines.TokenClassificationPipeline.AggregationStrategy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.List;

/** {@code jformers token-classification} (alias ner): HF's token-classification pipeline. */
@Command(name = "token-classification", aliases = "ner", mixinStandardHelpOptions = true,
        description = {"Label the tokens of each TEXT, or group them into entities (HF's token-classification pipeline).",
                "Example: jformers ner --aggregation-strategy=simple 'My name is Wolfgang and I live in Berlin.'"})
final class TokenClassificationCommand extends PipelineCommand {
    @Parameters(paramLabel = "TEXT", arity = "0..*")
    List<String> texts;

    @Option(names = "--aggregation-strategy", paramLabel = "S", defaultValue = "none",
            description = "none | simple | first | average | max (default ${DEFAULT-VALUE})")
    String aggregationStrategy;

    @Option(names = "--ignore-labels", paramLabel = "LABEL", split = ",",
            description = "labels to drop, comma-separated (default O; --ignore-labels= keeps all)")
    List<String> ignoreLabels;

    @Option(names = "--stride", paramLabel = "N",
            description = "label all of a long text: overlapping windows sharing N tokens, entities merged as HF's"
                    + " pipeline does (needs an --aggregation-strategy other than none; without it a text is cut at the"
                    + " model's maximum length, as in HF)")
    Integer stride;

    @Option(names = "--grouped-entities", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
            description = "deprecated HF option: true means --aggregation-strategy=simple (first with --ignore-subwords)")
    Boolean groupedEntities;

    @Option(names = "--ignore-subwords", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
            description = "deprecated HF option, see --grouped-entities")
    Boolean ignoreSubwords;

    @Mixin
    TruncationFlags truncationFlags;

    @Override
    void configure(Pipeline pipeline) {
        truncationFlags.apply(pipeline);
    }

    @Override
    String task() {
        return "token-classification";
    }

    @Override
    List<String> arguments() {
        return texts == null ? List.of() : texts;
    }

    @Override
    void validate() {
        truncationFlags.validate();
        try {
            tokenOptions();
        } catch (PipelineException e) {
            throw usage(e.getMessage());
        }
    }

    private TokenClassificationPipeline.Options tokenOptions() {
        return new TokenClassificationPipeline.Options(
                AggregationStrategy.parse(aggregationStrategy), ignoreLabels == null ? null : nonEmpty(ignoreLabels))
                .withLegacyGrouping(groupedEntities, ignoreSubwords).withStride(stride);
    }

    @Override
    List<Object> callRecords(Pipeline pipeline, List<JsonNode> records) {
        TokenClassificationPipeline p = (TokenClassificationPipeline) pipeline;
        TokenClassificationPipeline.Options o = tokenOptions();
        return List.copyOf(p.predictAll(records.stream().map(r -> field(r, "text")).toList(), o));
    }

    @Override
    void run(Pipeline pipeline, PrintWriter out) throws Exception {
        TokenClassificationPipeline p = (TokenClassificationPipeline) pipeline;
        TokenClassificationPipeline.Options o = tokenOptions();
        if (json) {
            out.println(toJson(texts.size() == 1 ? p.call(texts.get(0), o) : p.call(texts, o)));
            return;
        }
        List<List<TokenClassificationPipeline.Entity>> all = p.predictAll(texts, o);
        for (int i = 0; i < texts.size(); i++) {
            out.println(texts.get(i));
            List<TokenClassificationPipeline.Entity> entities = all.get(i);
            boolean tokens = o.aggregationStrategy() == AggregationStrategy.NONE;
            out.printf("  %-12s %-8s %-6s %-6s %-6s %s%n", tokens ? "entity" : "entity_group", "score",
                    tokens ? "index" : "", "start", "end", "word");
            for (TokenClassificationPipeline.Entity e : entities) {
                if (e instanceof TokenClassificationPipeline.TokenEntity t) {
                    out.printf("  %-12s %-8s %-6d %-6d %-6d %s%n", t.entity(), score(t.score()), t.index(), t.start(), t.end(), t.word());
                } else if (e instanceof TokenClassificationPipeline.EntityGroup g) {
                    out.printf("  %-12s %-8s %-6s %-6d %-6d %s%n", g.entityGroup(), score(g.score()), "", g.start(), g.end(), g.word());
                }
            }
        }
    }
}
