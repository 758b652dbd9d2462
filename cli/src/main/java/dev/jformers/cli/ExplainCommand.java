package dev.jformers.cli;

import dev.jformers.core.Backend;
import dev.jformers.core.Tensor;
import dev.jformers.models.AutoModels;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.hub.ModelResolver;
import dev.jformers.tokenizers.AutoTokenizer;
import dev.jformers.tokenizers.Encoding;
import dev.jformers.tokenizers.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code jformers explain}: what happens inside a model for one text — the tokens, the shape and
 * statistics of the hidden state after every layer, where each head of each layer looks, and
 * PNG heatmaps of every attention map.
 */
@Command(name = "explain", mixinStandardHelpOptions = true,
        description = "Show the tokens, the hidden state after every layer and the attention of every head for TEXT, "
                + "and write attention heatmaps (PNG, one per layer and head, tokens on the axes).")
final class ExplainCommand implements Callable<Integer> {
    @Option(names = "--model", defaultValue = "bert-base-uncased", paramLabel = "M",
            description = "model folder or id (default: ${DEFAULT-VALUE})")
    String model;

    @Option(names = "--out", defaultValue = "jformers-explain", paramLabel = "DIR",
            description = "where the PNG heatmaps go (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--no-images", description = "print only, write no PNG")
    boolean noImages;

    @Parameters(paramLabel = "TEXT", arity = "1")
    String text;

    @Mixin
    ModelOptions options;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        Path dir = ModelResolver.resolve(model);
        Tokenizer tokenizer = AutoTokenizer.fromPretrained(dir);
        Encoding enc = tokenizer.encode(text);
        List<String> tokens = enc.tokens();
        long[] ids = Arrays.stream(enc.ids()).asLongStream().toArray();
        try (Backend backend = options.createBackend()) {
            PreTrainedModel m = AutoModels.loadArchitecture(dir, backend);
            w.printf("model %s (%s) on %s%n", dir, m.modelClass(), backend.describe());
            w.printf("%d tokens:%n", tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                w.printf("  %3d  %-16s id %d%n", i, tokens.get(i), ids[i]);
            }
            ModelOutput result = m.forward(ModelInput.of(new long[][] {ids}).withOutputs(true, true));
            Tensor hidden = result.get("hidden_states");      // [layers+1, 1, T, C]
            Tensor attentions = result.get("attentions");     // [layers, 1, heads, T, T]
            int layers = attentions.dim(0), heads = attentions.dim(2), t = tokens.size();
            w.printf("%ninput_ids [1, %d] → embeddings %s%n", t, shape(hidden.select(0, 0)));
            printStats(w, "embeddings", hidden.select(0, 0));
            for (int l = 0; l < layers; l++) {
                printStats(w, "layer " + l, hidden.select(0, l + 1));
                StringBuilder looks = new StringBuilder("    attention " + shape(attentions.select(0, l)) + ", from "
                        + tokens.getFirst() + " each head looks most at:");
                for (int h = 0; h < heads; h++) {
                    float[] row = attentions.select(0, l).select(0, 0).select(0, h).select(0, 0).toFloatArray();
                    looks.append(' ').append(tokens.get(argmax(row)));
                }
                w.println(looks);
            }
            for (Map.Entry<String, Tensor> e : result.asMap().entrySet()) {
                if (!e.getKey().equals("hidden_states") && !e.getKey().equals("attentions")) {
                    w.printf("output %s %s%n", e.getKey(), shape(e.getValue()));
                }
            }
            if (!noImages) {
                Files.createDirectories(out);
                for (int l = 0; l < layers; l++) {
                    for (int h = 0; h < heads; h++) {
                        float[] map = attentions.select(0, l).select(0, 0).select(0, h).contiguous().toFloatArray();
                        AttentionHeatmap.write(map, tokens, "layer " + l + " head " + h,
                                out.resolve(String.format("layer%02d_head%02d.png", l, h)));
                    }
                }
                w.printf("wrote %d attention heatmaps to %s%n", layers * heads, out.toAbsolutePath());
            }
        }
        w.flush();
        return 0;
    }

    private static void printStats(PrintWriter w, String what, Tensor x) {
        float[] v = x.toFloatArray();
        double mean = 0, sq = 0;
        for (float f : v) {
            mean += f;
        }
        mean /= v.length;
        for (float f : v) {
            sq += (f - mean) * (f - mean);
        }
        w.printf("  %-11s hidden %s  mean %+.4f  std %.4f%n", what, shape(x), mean, Math.sqrt(sq / v.length));
    }

    private static String shape(Tensor t) {
        return Arrays.toString(t.shape());
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
