package dev.jformers.training;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.jformers.core.JformersException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's {@code TrainerState}, written as {@code trainer_state.json} in every checkpoint: where
 * training is ({@code global_step}, {@code epoch}), every log entry ({@code log_history}: loss, grad_norm,
 * learning_rate, epoch, step, and the eval_* metrics) and the best checkpoint so far.
 */
public final class TrainerState {
    public double epoch;
    public int globalStep;
    public int maxSteps;
    public int numTrainEpochs;
    public int loggingSteps;
    public int evalSteps;
    public int saveSteps;
    public int trainBatchSize;
    public Double bestMetric;
    public String bestModelCheckpoint;
    public List<Map<String, Object>> logHistory = new ArrayList<>();
    public boolean isLocalProcessZero = true;
    public boolean isWorldProcessZero = true;
    public double totalFlos = 0;
    public boolean isHyperParamSearch = false;
    public String trialName;
    public Map<String, Object> trialParams;
    /**
     * Early stopping's patience counter, kept so that a resumed run stops where the original would have. Written
     * where Hugging Face keeps it ({@code stateful_callbacks.EarlyStoppingCallback.attributes}): Python's
     * {@code TrainerState(**json)} accepts no other key.
     */
    @JsonIgnore
    public int earlyStoppingPatienceCounter;

    /** The last optimizer step's loss (mean over its accumulated batches) and learning rate: what a progress bar shows. */
    @JsonIgnore
    public double stepLoss = Double.NaN;
    @JsonIgnore
    public double stepLearningRate = Double.NaN;

    @JsonProperty("stateful_callbacks")
    Map<String, Object> statefulCallbacks() {
        return Map.of("EarlyStoppingCallback", Map.of("args", Map.of(),
                "attributes", Map.of("early_stopping_patience_counter", earlyStoppingPatienceCounter)));
    }

    @JsonProperty("stateful_callbacks")
    void statefulCallbacks(Map<String, Object> callbacks) {
        if (callbacks != null && callbacks.get("EarlyStoppingCallback") instanceof Map<?, ?> early
                && early.get("attributes") instanceof Map<?, ?> attributes
                && attributes.get("early_stopping_patience_counter") instanceof Number n) {
            earlyStoppingPatienceCounter = n.intValue();
        }
    }

    public void write(Path file) {
        try {
            Files.writeString(file, TrainingArguments.JSON.writeValueAsString(this));
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + file + ": " + e.getMessage(), e);
        }
    }

    public static TrainerState read(Path file) {
        return TrainingArguments.read(DatasetFiles.readText(file), file, TrainerState.class);
    }

    /** The losses logged during training, in order (entries with a "loss"). */
    public List<Double> losses() {
        return logHistory.stream().filter(e -> e.containsKey("loss"))
                .map(e -> ((Number) e.get("loss")).doubleValue()).toList();
    }

}
