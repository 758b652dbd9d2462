package dev.jformers.training;

import dev.jformers.core.Backend;
import dev.jformers.core.Tensor;

/**
 * A trainable weight under its Hugging Face name ({@code bert.encoder.layer.0.attention.self.query.weight}):
 * its float32 master values, which the optimizer updates in place, and its gradient after
 * {@link Autograd#backward}. Several parameters may share one array (BERT's query, key and value are rows of
 * one fused matrix); a tied weight (decoder ↔ word embeddings) is one parameter used twice.
 */
public final class Parameter {
    private final String name;
    private final Tensor value;
    private final Autograd autograd;
    private boolean requiresGrad = true;

    Parameter(String name, Tensor value, Autograd autograd) {
        this.name = name;
        this.value = value;
        this.autograd = autograd;
    }

    public String name() {
        return name;
    }

    /** The values, a contiguous float32 view on the heap: {@link #data()}[{@link #offset()} + i]. */
    public Tensor value() {
        return value;
    }

    public int[] shape() {
        return value.shape();
    }

    public int size() {
        return (int) value.numel();
    }

    public float[] data() {
        return value.floatArray();
    }

    public int offset() {
        return (int) value.arrayOffset();
    }

    /**
     * The gradient, laid out as {@link #data()} (same offset), or null when no loss reached it (PyTorch's None).
     * The array is reused by the next backward after {@link Autograd#zeroGrad}: copy it to keep its values.
     */
    public float[] grad() {
        return requiresGrad ? autograd.gradientArray(value) : null;
    }

    /** The backend that computes for this parameter's model (optimizers run their update loops on it). */
    Backend backend() {
        return autograd.inner();
    }

    /** PyTorch's {@code requires_grad}: a frozen parameter gets no gradient and no update. */
    public boolean requiresGrad() {
        return requiresGrad;
    }

    public Parameter requiresGrad(boolean value) {
        this.requiresGrad = value;
        return this;
    }

    @Override
    public String toString() {
        return name + java.util.Arrays.toString(shape()) + (requiresGrad ? "" : " (frozen)");
    }
}
