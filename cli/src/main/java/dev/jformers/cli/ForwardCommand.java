package dev.jformers.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.core.Backend;
import dev.jformers.core.JformersException;
import dev.jformers.models.AutoModels;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.Task;
import dev.jformers.models.hub.ModelResolver;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code jformers forward}: one forward pass over ids from a JSON file, outputs under HF's names. */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = "Run one forward pass on input_ids/attention_mask/token_type_ids from IN.json and print "
                + "every output as {\"name\": {\"shape\": [...], \"data\": [...]}}.")
final class ForwardCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "M", description = "model folder (config.json + weights) or model id")
    String model;

    @Option(names = "--auto", paramLabel = "AutoModelForX",
            description = "Auto class to build (default: the class in config.json's architectures)")
    String auto;

    @Option(names = "--input", required = true, paramLabel = "IN.json")
    Path input;

    @Option(names = "--output", paramLabel = "OUT.json", description = "write here instead of standard output")
    Path output;

    @Option(names = "--hidden-states", description = "also output hidden_states [layers+1, B, T, H]")
    boolean hiddenStates;

    @Option(names = "--attentions", description = "also output attentions [layers, B, heads, T, T]")
    boolean attentions;

    @Mixin
    ModelOptions options;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        JsonNode in = Json.read(input);
        if (!in.isObject() || !in.has("input_ids")) {
            throw new JformersException(input + ": expected an object with \"input_ids\"");
        }
        ModelInput modelInput = new ModelInput(
                Json.longTensor(in.get("input_ids"), "input_ids", input),
                Json.longTensor(in.get("attention_mask"), "attention_mask", input),
                Json.longTensor(in.get("token_type_ids"), "token_type_ids", input),
                Json.longTensor(in.get("position_ids"), "position_ids", input),
                hiddenStates, attentions);
        Path dir = ModelResolver.resolve(model);
        try (Backend backend = options.createBackend()) {
            PreTrainedModel m;
            if (auto == null) {
                m = AutoModels.loadArchitecture(dir, backend);
            } else {
                Task task = Task.fromAutoClass(auto);
                if (task == null) {
                    throw new JformersException("unknown Auto class '" + auto + "'");
                }
                m = AutoModels.load(task, dir, backend);
            }
            ModelOutput out = m.forward(modelInput);
            if (output != null) {
                try (OutputStream os = Files.newOutputStream(output);
                     JsonGenerator g = Json.MAPPER.getFactory().createGenerator(os)) {
                    Json.writeTensors(out.asMap(), g);
                }
            } else {
                PrintWriter w = spec.commandLine().getOut();
                JsonGenerator g = Json.MAPPER.getFactory().createGenerator(w);
                Json.writeTensors(out.asMap(), g);
                g.flush();
                w.println();
                w.flush();
            }
        }
        return 0;
    }
}
