package dev.jformers.cli;

import dev.jformers.pipelines.Pipeline;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * HF's tokenizer keywords {@code truncation} and {@code max_length} as flags ({@link Pipeline#setTruncation}):
 * {@code --truncation} cuts at the model's maximum length, {@code --max-length N} at N tokens (special tokens
 * included), {@code --truncation=false} never. Question answering has its own windows (--max-seq-len, --doc-stride)
 * and text generation its own --max-length (generate's).
 */
final class TruncationFlags {
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = "--truncation", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
            description = "cut each text at --max-length, or at the model's maximum length (HF's truncation=True)")
    Boolean truncation;

    @Option(names = "--max-length", paramLabel = "N",
            description = "cut each text at N tokens, special tokens included (HF's max_length; implies --truncation)")
    Integer maxLength;

    /** Usage errors, before a model is loaded. */
    void validate() {
        if (maxLength != null && maxLength < 1) {
            throw new ParameterException(command.commandLine(), "--max-length must be at least 1, got " + maxLength);
        }
    }

    void apply(Pipeline pipeline) {
        if (truncation != null || maxLength != null) {
            pipeline.setTruncation(truncation, maxLength);
        }
    }
}
