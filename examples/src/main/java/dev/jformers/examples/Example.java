package dev.jformers.examples;

import dev.jformers.models.AutoModel;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.pipelines.FeatureExtractionPipeline;
import dev.jformers.pipelines.FillMaskPipeline;
import dev.jformers.pipelines.Pipelines;
import dev.jformers.tokenizers.AutoTokenizer;
import dev.jformers.tokenizers.Encoding;
import dev.jformers.tokenizers.Tokenizer;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/**
 * What an application does with jformers: sentence embeddings and their cosine similarity, a fill-mask
 * pipeline, and an Auto class over a padded batch, everything closed when done.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -cp ... dev.jformers.examples.Example [EMBEDDER] [FILL_MASK_MODEL]}
 * (defaults: all-MiniLM-L6-v2, and bert-base-uncased, a 410 MB Maven artifact to add to the pom first).
 */
public final class Example {
    private Example() {
    }

    public static void main(String[] args) {
        run(args.length > 0 ? args[0] : "sentence-transformers/all-MiniLM-L6-v2",
                args.length > 1 ? args[1] : "bert-base-uncased", System.out);
    }

    /** Cosine similarity of two vectors (1 for unit vectors pointing the same way). */
    static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    /** Returns {cosine(similar pair), cosine(unrelated pair)} and prints what it does. */
    static double[] run(String embedder, String fillMaskModel, PrintStream out) {
        double[] cosines = new double[2];

        // 1. Sentence embeddings: one pipeline, many texts (batched), mean-pooled and normalised.
        try (FeatureExtractionPipeline embed = Pipelines.featureExtraction(embedder)) {
            float[][] v = embed.embedAll(List.of("A man is eating food.", "A man is eating a piece of bread.",
                    "The girl is carrying a baby."));
            cosines[0] = cosine(v[0], v[1]);
            cosines[1] = cosine(v[0], v[2]);
            out.printf("embeddings [%d]: cosine(similar) %.4f, cosine(unrelated) %.4f%n", v[0].length, cosines[0], cosines[1]);
        }

        // 2. A pipeline with a typed result.
        try (FillMaskPipeline fill = Pipelines.fillMask(fillMaskModel)) {
            List<FillMaskPipeline.Candidate> best = fill.apply("The capital of France is " + fill.tokenizer().maskToken() + ".");
            out.println("fill-mask: " + best.getFirst().tokenStr() + " (" + best.getFirst().score() + ")");
        }

        // 3. An Auto class over a padded batch: the tokenizer pads, ModelInput carries ids and attention mask.
        try (Tokenizer tokenizer = AutoTokenizer.fromPretrained(embedder);
             PreTrainedModel model = AutoModel.fromPretrained(embedder)) {
            List<Encoding> batch = tokenizer.encodeBatch(List.of("Hello world!", "A longer sentence, padded less."),
                    true, true, null);
            ModelOutput output = model.forward(ModelInput.of(batch));
            out.println("last_hidden_state " + Arrays.toString(output.lastHiddenState().shape()));
        }
        return cosines;
    }
}
