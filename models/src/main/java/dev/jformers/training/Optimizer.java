package dev.jformers.training;

/** Updates parameters in place from their gradients, PyTorch's {@code optimizer.step()} at a given learning rate. */
public interface Optimizer {
    /** One update at learning rate {@code lr}; parameters without a gradient (PyTorch's None) are skipped. */
    void step(double lr);

    /** The state (moments, step counts) under parameter names, for checkpoints; empty when stateless. */
    default java.util.Map<String, float[]> state() {
        return java.util.Map.of();
    }

    /** Restores what {@link #state()} returned (a resumed checkpoint); names the first entry that does not fit. */
    default void loadState(java.util.Map<String, float[]> state) {
        if (!state.isEmpty()) {
            throw new dev.jformers.core.JformersException(getClass().getSimpleName() + " keeps no state, the checkpoint has "
                    + state.size() + " entries");
        }
    }
}
