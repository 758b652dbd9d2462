package dev.jformers.training;

import dev.jformers.core.JformersException;

import java.util.Map;

/**
 * Hugging Face's {@code EarlyStoppingCallback}: stops training when {@code metric_for_best_model} has not
 * improved by more than {@code threshold} for {@code patience} evaluations in a row. Needs
 * {@code load_best_model_at_end} (so the best checkpoint is what remains), as in Hugging Face.
 */
public final class EarlyStoppingCallback implements TrainerCallback {
    private final int patience;
    private final double threshold;

    public EarlyStoppingCallback(int patience, double threshold) {
        if (patience < 1 || threshold < 0) {
            throw new JformersException("early stopping: patience must be ≥ 1 and threshold ≥ 0");
        }
        this.patience = patience;
        this.threshold = threshold;
    }

    @Override
    public void onTrainBegin(TrainingArguments args, TrainerState state, TrainerControl control) {
        if (!args.loadBestModelAtEnd) {
            throw new JformersException("early stopping needs load_best_model_at_end");
        }
    }

    @Override
    public void onEvaluate(TrainingArguments args, TrainerState state, TrainerControl control,
                           Map<String, Double> metrics) {
        Double value = metrics.get(args.metricForBestModel());
        if (value == null) {
            throw new JformersException("early stopping: the evaluation has no " + args.metricForBestModel()
                    + " (it has " + metrics.keySet() + ")");
        }
        boolean better = state.bestMetric == null
                || (args.greaterIsBetter() ? value - state.bestMetric > threshold : state.bestMetric - value > threshold);
        state.earlyStoppingPatienceCounter = better ? 0 : state.earlyStoppingPatienceCounter + 1;
        if (state.earlyStoppingPatienceCounter >= patience) {
            control.shouldTrainingStop = true;
        }
    }
}
