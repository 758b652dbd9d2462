package dev.jformers.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.models.hub.ModelResolver;
import dev.jformers.tokenizers.AutoTokenizer;
import dev.jformers.tokenizers.EncodeOptions;
import dev.jformers.tokenizers.Encoding;
import dev.jformers.tokenizers.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code jformers tokenize}: ids, tokens and character offsets of each text, as JSON. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print, per text, input_ids, tokens and offsets (one JSON object per text in a JSON list).")
final class TokenizeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "M", description = "model folder or id with tokenizer files")
    String model;

    @Option(names = "--no-special-tokens", description = "don't add [CLS]/[SEP], <s>/</s>, …")
    boolean noSpecialTokens;

    @Option(names = "--json", description = "JSON output (the only format; accepted for symmetry with the other commands)")
    boolean json;

    @Parameters(paramLabel = "TEXT", arity = "1..*")
    List<String> texts;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Tokenizer tokenizer = AutoTokenizer.fromPretrained(ModelResolver.resolve(model));
        EncodeOptions options = EncodeOptions.defaults().withAddSpecialTokens(!noSpecialTokens);
        ArrayNode out = Json.MAPPER.createArrayNode();
        for (String text : texts) {
            Encoding e = tokenizer.encode(text, options);
            ObjectNode o = out.addObject();
            ArrayNode ids = o.putArray("input_ids");
            for (int id : e.ids()) {
                ids.add(id);
            }
            ArrayNode tokens = o.putArray("tokens");
            e.tokens().forEach(tokens::add);
            ArrayNode offsets = o.putArray("offsets");
            for (int[] span : e.offsets()) {
                offsets.addArray().add(span[0]).add(span[1]);
            }
        }
        spec.commandLine().getOut().println(Json.MAPPER.writeValueAsString(out));
        return 0;
    }
}
