package dev.jformers.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.Backend;
import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;
import dev.jformers.models.AutoModelForCausalLM;
import dev.jformers.models.CausalLM;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.Tensors;
import dev.jformers.models.generation.GenerationConfig;
import dev.jformers.models.generation.Generator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code jformers generate}: Hugging Face's {@code model.generate(input_ids, attention_mask=…, **kwargs)} for any
 * causal LM; every GenerationConfig field is a flag ({@link GenerationFlags}). Prints
 * {@code {"sequences": …}} and, for beam search, {@code "sequences_scores"} as
 * {@code generate(..., output_scores=True, return_dict_in_generate=True)} names them.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, modelTransformer = GenerationFlags.class,
        description = {"Generate from input_ids (and attention_mask, left-padded) in IN.json; prints {\"sequences\": [[ids…], …]}"
                + " (and \"sequences_scores\" for beam search).",
                "Defaults come from the model's generation_config.json (or config.json); every GenerationConfig field is a"
                        + " --kebab-name=VALUE flag (lists comma-separated, --bad-words-ids as JSON, --early-stopping never)."})
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "IN.json")
    Path input;

    @Option(names = "--greedy", description = "greedy decoding (--do-sample=false; the default unless the model's config samples)")
    boolean greedy;

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
        ObjectNode kwargs = GenerationFlags.kwargs(spec);
        if (greedy) {
            if (kwargs.path("do_sample").asBoolean(false)) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--greedy can't be combined with --do-sample");
            }
            kwargs.put("do_sample", false);
        }
        GenerationConfig config = GenerationConfig.fromPretrained(model).update(kwargs);
        try (Backend backend = options.createBackend()) {
            PreTrainedModel m = AutoModelForCausalLM.fromPretrained(model, backend);
            if (!(m instanceof CausalLM lm)) {
                throw new JformersException("generate needs a causal LM; " + model + " is a " + m.modelClass());
            }
            Generator.Output out = new Generator(lm).generateOutput(Tensors.rows(ids), mask == null ? null : Tensors.rows(mask),
                    config, null);
            ObjectNode result = Json.MAPPER.createObjectNode();
            ArrayNode seqs = result.putArray("sequences");
            for (long[] row : out.sequences()) {
                ArrayNode r = seqs.addArray();
                for (long id : row) {
                    r.add(id);
                }
            }
            if (out.sequencesScores() != null) {
                ArrayNode scores = result.putArray("sequences_scores");
                for (float s : out.sequencesScores()) {
                    scores.add(s);
                }
            }
            spec.commandLine().getOut().println(Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(result));
        }
        return 0;
    }
}
