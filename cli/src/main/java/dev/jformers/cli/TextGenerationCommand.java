package dev.jformers.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.models.generation.GenerationConfig;
import dev.jformers.pipelines.Pipeline;
import dev.jformers.pipelines.TextGenerationPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;

/**
 * {@code jformers text-generation}: HF's text-generation pipeline. Every GenerationConfig field is a flag
 * ({@link GenerationFlags}); without --json the text streams word by word as it is generated (one sequence), or each
 * sequence is printed on its own line (beams, several sequences).
 */
@Command(name = "text-generation", mixinStandardHelpOptions = true, modelTransformer = GenerationFlags.class,
        description = {"Continue each PROMPT (HF's text-generation pipeline); without --json the text streams as it comes.",
                "Every GenerationConfig field is a --kebab-name=VALUE flag (--num-beams 4, --no-repeat-ngram-size 2,"
                        + " --eos-token-id 50256,198, --early-stopping never, …).",
                "Example: jformers text-generation --max-new-tokens=20 'Hello, my name is'"})
final class TextGenerationCommand extends PipelineCommand {
    @Parameters(paramLabel = "PROMPT", arity = "0..*")
    List<String> prompts;

    @Option(names = "--return-full-text", arity = "0..1", fallbackValue = "true", defaultValue = "true", paramLabel = "BOOL",
            description = "prompt + continuation (default ${DEFAULT-VALUE}) or the continuation alone")
    boolean returnFullText;

    @Option(names = "--return-tensors", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
            description = "return generated_token_ids instead of text")
    boolean returnTensors;

    @Option(names = "--clean-up-tokenization-spaces", arity = "0..1", fallbackValue = "true", defaultValue = "true",
            paramLabel = "BOOL", description = "HF's decode cleanup (default ${DEFAULT-VALUE})")
    boolean cleanUp;

    @Option(names = "--prefix", paramLabel = "TEXT", description = "text put before the prompt for the model, not returned")
    String prefix;

    @Option(names = "--stop-sequence", paramLabel = "TEXT", description = "stop at this text's first token (as HF's pipeline)")
    String stopSequence;

    @Option(names = "--handle-long-generation", paramLabel = "hole",
            description = "hole: drop the prompt's start so that prompt + new tokens fit the model")
    String handleLongGeneration;

    @Override
    String task() {
        return "text-generation";
    }

    @Override
    List<String> arguments() {
        return prompts == null ? List.of() : prompts;
    }

    private TextGenerationPipeline.Options generationOptions() {
        return TextGenerationPipeline.Options.defaults()
                .withAll(GenerationFlags.kwargs(spec))
                .withReturnFullText(returnFullText).withReturnTensors(returnTensors).withCleanUpTokenizationSpaces(cleanUp)
                .withPrefix(prefix).withStopSequence(stopSequence).withHandleLongGeneration(handleLongGeneration);
    }

    /** Each record's "text" (HF's text_inputs), generated one prompt at a time: HF's list for that prompt. */
    @Override
    List<Object> callRecords(Pipeline pipeline, List<JsonNode> records) {
        TextGenerationPipeline p = (TextGenerationPipeline) pipeline;
        TextGenerationPipeline.Options o = generationOptions();
        return records.stream().map(r -> (Object) p.call(field(r, "text"), o)).toList();
    }

    @Override
    void run(Pipeline pipeline, PrintWriter out) throws Exception {
        TextGenerationPipeline p = (TextGenerationPipeline) pipeline;
        TextGenerationPipeline.Options o = generationOptions();
        if (json) {
            out.println(toJson(prompts.size() == 1 ? p.call(prompts.get(0), o) : p.call(prompts, o)));
            return;
        }
        GenerationConfig config = p.generationConfig(o);
        boolean oneSequence = config.numBeams() == 1 && config.numReturnSequences() == 1;
        for (String prompt : prompts) {
            if (returnTensors || !oneSequence) {
                for (TextGenerationPipeline.Generated g : p.call(prompt, o)) {
                    out.println(g instanceof TextGenerationPipeline.GeneratedTokenIds t
                            ? Arrays.toString(t.generatedTokenIds())
                            : ((TextGenerationPipeline.GeneratedText) g).generatedText());
                }
                continue;
            }
            if (returnFullText) {
                out.print(prompt);
                out.flush();
            }
            p.call(prompt, o, piece -> {
                out.print(piece);
                out.flush();
            });
            out.println();
        }
    }
}
