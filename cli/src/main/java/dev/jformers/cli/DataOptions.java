package dev.jformers.cli;

import dev.jformers.core.JformersException;
import dev.jformers.tokenizers.AutoTokenizer;
import dev.jformers.tokenizers.Tokenizer;
import dev.jformers.training.DataCollatorForLanguageModeling;
import dev.jformers.training.TaskData;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;

/**
 * How {@code train} and {@code evaluate} read and tokenize their data (a mixin: both take the same options, so a
 * model is evaluated on rows prepared exactly as in training), and the TASK names both accept.
 */
final class DataOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = "--max-length", paramLabel = "N",
            description = "truncate texts to N tokens (default: 128 as run_glue.py; question-answering 384 as run_qa.py)")
    Integer maxLength;
    @Option(names = "--block-size", paramLabel = "N", description = "LM tasks: tokens per block (default: min(1024, the model's positions))")
    Integer blockSize;
    @Option(names = "--mlm-probability", paramLabel = "P", defaultValue = "0.15") double mlmProbability;
    @Option(names = "--whole-word-mask", description = "fill-mask: mask whole words (all their WordPiece tokens)")
    boolean wholeWordMask;
    @Option(names = "--text-column", paramLabel = "NAME", defaultValue = "text",
            description = "the text (token-classification: the word list, default 'tokens')") String textColumn;
    @Option(names = "--text-pair-column", paramLabel = "NAME") String textPairColumn;
    @Option(names = "--label-column", paramLabel = "NAME", defaultValue = "label",
            description = "the label (token-classification: the tag list, default 'ner_tags')") String labelColumn;

    /** --max-length, or its default for the task: 384 for question answering (run_qa.py), else 128 (run_glue.py). */
    int maxLength(String task) {
        return maxLength != null ? maxLength : "question-answering".equals(task) ? 384 : 128;
    }

    /** What TaskData needs, these options with the command's model, data and output. */
    TaskData.Options options(String task, Path model, Path config, Path tokenizer, Path train, Path eval, Path output,
                             long seed) {
        return new TaskData.Options(task, model, config, tokenizer, train, eval, output, maxLength(task), blockSize,
                mlmProbability, textColumn, textPairColumn, labelColumn, seed);
    }

    /** --whole-word-mask: the fill-mask collator masks all WordPiece tokens of a word together. */
    void applyWholeWordMask(TaskData.Prepared data, String task) {
        if (!wholeWordMask) {
            return;
        }
        if (!(data.collator() instanceof DataCollatorForLanguageModeling lm) || !"fill-mask".equals(task)) {
            throw new CommandLine.ParameterException(command.commandLine(), "--whole-word-mask is for fill-mask");
        }
        Tokenizer tok = AutoTokenizer.fromPretrained(data.tokenizerDir());
        boolean[] continuation = new boolean[tok.size()];
        for (int id = 0; id < continuation.length; id++) {
            String piece = tok.idToToken(id);
            continuation[id] = piece != null && piece.startsWith("##");
        }
        lm.wholeWordMask(continuation);
    }

    /** {@link #canonical(String)}, an unknown task being a usage error (exit status 2). */
    static String canonical(String task, CommandSpec spec) {
        try {
            return canonical(task);
        } catch (JformersException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /** The task's name as the Trainer scripts use it; aliases as the pipelines accept them. */
    static String canonical(String task) {
        return switch (task) {
            case "text-classification", "sentiment-analysis" -> "text-classification";
            case "fill-mask", "masked-lm", "mlm" -> "fill-mask";
            case "text-generation", "causal-lm", "clm" -> "text-generation";
            case "token-classification", "ner" -> "token-classification";
            case "question-answering" -> "question-answering";
            default -> throw new JformersException("unknown task '" + task + "' (text-classification, "
                    + "token-classification, question-answering, fill-mask, text-generation)");
        };
    }
}
