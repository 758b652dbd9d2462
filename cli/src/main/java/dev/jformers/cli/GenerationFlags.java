package dev.jformers.cli;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.JformersException;
import dev.jformers.models.generation.GenerationConfig;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * One {@code --kebab-name=VALUE} option per field of Hugging Face's GenerationConfig ({@code --max-new-tokens},
 * {@code --num-beams}, {@code --early-stopping never}, {@code --eos-token-id 50256,198},
 * {@code --bad-words-ids '[[13],[17,99]]'}, …), added to a command by picocli as a model transformer, so the flags
 * are the config's fields and cannot drift from them. Booleans take true/false (alone: true).
 */
final class GenerationFlags implements CommandLine.IModelTransformer {

    static String flag(String field) {
        return "--" + field.replace('_', '-');
    }

    @Override
    public CommandSpec transform(CommandSpec spec) {
        for (String field : GenerationConfig.fieldNames()) {
            String flag = flag(field);
            if (spec.findOption(flag) != null) {
                continue;
            }
            OptionSpec.Builder b = OptionSpec.builder(flag).type(String.class).paramLabel("VALUE")
                    .description(field + ": " + GenerationConfig.expected(field)
                            + (field.equals("seed") ? " (jformers' sampling seed; sampled tokens cannot equal PyTorch's)" : ""));
            if (GenerationConfig.isBoolean(field)) {
                b.arity("0..1").fallbackValue("true");
            }
            spec.addOption(b.build());
        }
        return spec;
    }

    /** The generation fields given on this command line, as Hugging Face's generate kwargs (typed JSON). */
    static ObjectNode kwargs(CommandSpec spec) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        CommandLine.ParseResult parsed = spec.commandLine().getParseResult();
        for (String field : GenerationConfig.fieldNames()) {
            String flag = flag(field);
            if (parsed.hasMatchedOption(flag)) {
                String text = parsed.matchedOptionValue(flag, null);
                try {
                    out.set(field, GenerationConfig.parse(field, text));
                } catch (JformersException e) {
                    throw new CommandLine.ParameterException(spec.commandLine(), flag + ": " + e.getMessage());
                }
            }
        }
        return out;
    }
}
