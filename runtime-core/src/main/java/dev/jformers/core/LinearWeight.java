package dev.jformers.core;

/**
 * A linear layer's weight and bias, prepared once by a backend for repeated use
 * (packed for SIMD, uploaded to a device, …). Immutable and safe to share between threads.
 */
public interface LinearWeight {
    int inFeatures();

    int outFeatures();
}
