package dev.jformers.training;

import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.Tensor;
import dev.jformers.models.Golden;
import dev.jformers.pipelines.Pipelines;
import dev.jformers.pipelines.TextClassificationPipeline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fine-tuning through the Java API on a small BERT with the bert-base vocabulary: a new classification head on
 * a base checkpoint, trained on labelled texts; the in-memory model's predictions at the end of training equal
 * those of the saved model reloaded by the text-classification pipeline.
 */
class FineTuningEndToEndTest {

    @Test
    void inMemoryPredictionsEqualTheReloadedPipeline(@TempDir Path tmp) throws Exception {
        Path base = Golden.testdata().resolve("golden/pipelines/feature-extraction-bert");
        Path jsonl = tmp.resolve("train.jsonl");
        StringBuilder b = new StringBuilder();
        List<String> texts = List.of("free money now", "meeting at noon", "win a prize today", "notes from the review");
        for (int i = 0; i < texts.size(); i++) {
            b.append("{\"text\": \"").append(texts.get(i)).append("\", \"label\": \"").append(i % 2 == 0 ? "spam" : "ham")
                    .append("\"}\n");
        }
        Files.writeString(jsonl, b.toString());
        Path out = tmp.resolve("out");
        TaskData.Prepared data = TaskData.prepare(new TaskData.Options("text-classification", base, null, null, jsonl,
                jsonl, out, 128, null, 0.15, "text", null, "label", 42));
        assertTrue(data.train().getFirst().has("token_type_ids"));
        TrainingArguments args = new TrainingArguments(out);
        args.numTrainEpochs = 2;
        args.learningRate = 1e-2;
        args.perDeviceTrainBatchSize = 2;
        args.perDeviceEvalBatchSize = 4;
        args.saveStrategy = "no";
        float[] inMemory;
        try (Backend backend = Backends.create("cpu"); TrainableModel m = data.model().apply(backend)) {
            Trainer trainer = new Trainer(m, args, data.train(), data.eval(), data.collator()).tokenizerFiles(data.tokenizerDir());
            trainer.train();
            Tensor logits = trainer.predict(data.eval()).outputs().getFirst().get("logits");
            inMemory = logits.toFloatArray();
            trainer.saveModel(out);
        }
        try (TextClassificationPipeline p = Pipelines.textClassification(out.toString())) {
            for (int i = 0; i < texts.size(); i++) {
                List<TextClassificationPipeline.LabelScore> scores = p.classify(new TextClassificationPipeline.Input(texts.get(i),
                        null), null, TextClassificationPipeline.Function.NONE);
                // labels sorted: ham = 0, spam = 1; NONE gives the raw logits
                java.util.Map<String, Float> byLabel = new java.util.HashMap<>();
                scores.forEach(ls -> byLabel.put(ls.label(), ls.score()));
                assertEquals(inMemory[2 * i], byLabel.get("ham"), 1e-5, texts.get(i));
                assertEquals(inMemory[2 * i + 1], byLabel.get("spam"), 1e-5, texts.get(i));
            }
        }
    }
}
