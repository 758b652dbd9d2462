package dev.jformers.cli;

import dev.jformers.pipelines.Pipeline;
import dev.jformers.pipelines.TextGenerationPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.List;

/** {@code jformers text-generation}: HF's text-generation pipeline; streams the text as it is generated. */
@Command(name = "text-generation", mixinStandardHelpOptions = true,
        description = {"Continue each PROMPT (HF's text-generation pipeline); without --json the text streams as it comes.",
                "Example: jformers text-generation --max-new-tokens=20 'Hello, my name is'"})
final class TextGenerationCommand extends PipelineCommand {
    @Parameters(paramLabel = "PROMPT", arity = "1..*")
    List<String> prompts;

    @Option(names = "--max-new-tokens", paramLabel = "N", description = "tokens to generate (default: the model's max_length 20 minus the prompt)")
    Integer maxNewTokens;

    @Option(names = "--do-sample", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
            description = "sample instead of greedy decoding (default: the model's generation config)")
    Boolean doSample;

    @Option(names = "--temperature", paramLabel = "T")
    Double temperature;

    @Option(names = "--top-k", paramLabel = "K")
    Integer topK;

    @Option(names = "--top-p", paramLabel = "P")
    Double topP;

    @Option(names = "--seed", paramLabel = "S", description = "random seed for sampling")
    Long seed;

    @Option(names = "--repetition-penalty", paramLabel = "R")
    Double repetitionPenalty;

    @Option(names = "--return-full-text", arity = "0..1", fallbackValue = "true", defaultValue = "true", paramLabel = "BOOL",
            description = "prompt + continuation (default ${DEFAULT-VALUE}) or the continuation alone")
    boolean returnFullText;

    @Option(names = "--return-tensors", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
            description = "return generated_token_ids instead of text")
    boolean returnTensors;

    @Override
    String task() {
        return "text-generation";
    }

    @Override
    void run(Pipeline pipeline, PrintWriter out) throws Exception {
        TextGenerationPipeline p = (TextGenerationPipeline) pipeline;
        TextGenerationPipeline.Options o = new TextGenerationPipeline.Options(maxNewTokens, doSample, temperature, topK,
                topP, seed, repetitionPenalty, returnFullText, returnTensors);
        if (json) {
            out.println(toJson(prompts.size() == 1 ? p.call(prompts.get(0), o) : p.call(prompts, o)));
            return;
        }
        for (String prompt : prompts) {
            if (returnTensors) {
                TextGenerationPipeline.Generated g = p.generate(prompt, o, null);
                out.println(java.util.Arrays.toString(((TextGenerationPipeline.GeneratedTokenIds) g).generatedTokenIds()));
                continue;
            }
            if (returnFullText) {
                out.print(prompt);
                out.flush();
            }
            p.generate(prompt, o, piece -> {
                out.print(piece);
                out.flush();
            });
            out.println();
        }
    }
}
