package dev.jformers.core;

/**
 * A linear layer's weight and bias, prepared once by a backend for repeated use
 * (packed for SIMD, uploaded to a device, …). Safe to share between threads; only
 * {@link Backend#repackLinear} changes one (training, between optimizer steps).
 */
public interface LinearWeight {
    int inFeatures();

    int outFeatures();
}
