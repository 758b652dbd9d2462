package dev.jformers.core;

/** How a linear layer's weight matrix is stored. */
public enum WeightLayout {
    /** {@code nn.Linear}: weight [out, in], y = x·Wᵀ + b. */
    OUT_IN,
    /** GPT-2's {@code Conv1D} and TF kernels: weight [in, out], y = x·W + b. */
    IN_OUT
}
