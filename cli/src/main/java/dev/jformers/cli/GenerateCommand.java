package dev.jformers.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.Backend;
import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;
import dev.jformers.models.AutoModelForCausalLM;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.Tensors;
import dev.jformers.models.generation.GenerationConfig;
import dev.jformers.models.generation.Generator;
import dev.jformers.models.gpt2.GPT2LMHeadModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code jformers generate}: token ids in, generated ids out (greedy or sampling, KV cache). */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate from input_ids (and attention_mask, left-padded) in IN.json; prints {\"sequences\": [[ids…], …]}.")
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "IN.json")
    Path input;

    @Option(names = "--max-new-tokens", required = true, paramLabel = "N")
    int maxNewTokens;

    @Option(names = "--greedy", description = "greedy decoding (the default unless a sampling option is given)")
    boolean greedy;

    @Option(names = "--temperature", paramLabel = "T")
    Double temperature;

    @Option(names = "--top-k", paramLabel = "K")
    Integer topK;

    @Option(names = "--top-p", paramLabel = "P")
    Double topP;

    @Option(names = "--seed", paramLabel = "S")
    Long seed;

    @Option(names = "--repetition-penalty", paramLabel = "R", defaultValue = "1.0")
    double repetitionPenalty;

    @Mixin
    ModelOptions options;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        JsonNode in = Json.read(input);
        Tensor ids = Json.longTensor(in.get("input_ids"), "input_ids", input);
        Tensor mask = Json.longTensor(in.get("attention_mask"), "attention_mask", input);
        if (ids == null || ids.rank() != 2) {
            throw new JformersException(input + ": input_ids must be [[ids…], …]");
        }
        boolean sample = temperature != null || topK != null || topP != null || seed != null;
        if (greedy && sample) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--greedy can't be combined with --temperature/--top-k/--top-p/--seed");
        }
        try (Backend backend = options.createBackend()) {
            PreTrainedModel m = AutoModelForCausalLM.fromPretrained(model, backend);
            if (!(m instanceof GPT2LMHeadModel gpt2)) {
                throw new JformersException("generate supports GPT-2 models; " + model + " is a " + m.modelClass());
            }
            GenerationConfig config = GenerationConfig.greedy(maxNewTokens, gpt2.config().common().eosTokenId())
                    .withPadTokenId(gpt2.config().common().padTokenId())
                    .withRepetitionPenalty(repetitionPenalty);
            if (sample) {
                config = config.withSampling(temperature == null ? 1.0 : temperature, topK == null ? 50 : topK,
                        topP == null ? 1.0 : topP, seed);
            }
            long[][] out = new Generator(gpt2).generate(Tensors.rows(ids), mask == null ? null : Tensors.rows(mask), config, null);
            ObjectNode result = Json.MAPPER.createObjectNode();
            ArrayNode seqs = result.putArray("sequences");
            for (long[] row : out) {
                ArrayNode r = seqs.addArray();
                for (long id : row) {
                    r.add(id);
                }
            }
            spec.commandLine().getOut().println(Json.MAPPER.writer().without(
                    com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT).writeValueAsString(result));
        }
        return 0;
    }
}
