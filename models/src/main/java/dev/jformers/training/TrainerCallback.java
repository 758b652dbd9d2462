package dev.jformers.training;

import java.util.Map;

/**
 * Hugging Face's {@code TrainerCallback}: hooks the {@link Trainer} calls at fixed points of the loop. A hook
 * may inspect the state and set flags on the {@link TrainerControl} (stop, save, evaluate).
 */
public interface TrainerCallback {
    default void onTrainBegin(TrainingArguments args, TrainerState state, TrainerControl control) {
    }

    /** After each optimizer step (state.globalStep is the step just done). */
    default void onStepEnd(TrainingArguments args, TrainerState state, TrainerControl control) {
    }

    /** A new log_history entry (training loss or evaluation metrics). */
    default void onLog(TrainingArguments args, TrainerState state, TrainerControl control, Map<String, Object> logs) {
    }

    default void onEvaluate(TrainingArguments args, TrainerState state, TrainerControl control,
                            Map<String, Double> metrics) {
    }

    default void onSave(TrainingArguments args, TrainerState state, TrainerControl control) {
    }

    default void onTrainEnd(TrainingArguments args, TrainerState state, TrainerControl control) {
    }

    /** Hugging Face's {@code TrainerControl}: what the loop does next. */
    final class TrainerControl {
        public boolean shouldTrainingStop;
        public boolean shouldSave;
        public boolean shouldEvaluate;
        public boolean shouldLog;
    }
}
