package dev.jformers.core;

/**
 * The operations a transformer needs, implemented once per kind of hardware. All computation
 * is in float32. A backend's results live where the backend keeps them (host memory for the
 * CPU backends, device memory for a GPU backend); call {@link #toHost} to read them.
 * Implementations are thread-safe: a loaded model is shared by concurrent calls.
 *
 * <p>Shapes: B batch, T tokens, C channels (hidden size), h heads, d = C/h head size.
 */
public interface Backend extends AutoCloseable {

    /** "scalar", "cpu", "opencl", … */
    String name();

    /** A one-line description (vector width, threads, device). */
    String describe();

    // ---------------------------------------------------------------- memory

    /** Makes a host tensor usable by this backend as float32 (weights at load time). */
    Tensor upload(Tensor hostTensor);

    /** Makes an integer host tensor (token ids, masks) usable by this backend, keeping its dtype. */
    default Tensor uploadIndices(Tensor hostTensor) {
        return hostTensor;
    }

    /** A host copy (or the tensor itself when it already is on the host). */
    Tensor toHost(Tensor t);

    /** A new zero-filled float32 tensor owned by this backend. */
    Tensor zeros(int... shape);

    /** Copies {@code src} into {@code dst} (a view of a tensor from {@link #zeros}); shapes must be equal. */
    void copyInto(Tensor src, Tensor dst);

    // ---------------------------------------------------------------- operations

    /** Prepares a linear layer; {@code bias} may be null. */
    LinearWeight prepareLinear(Tensor weight, Tensor bias, WeightLayout layout);

    /** y = x·Wᵀ + b: x [..., in] → [..., out]. */
    Tensor linear(Tensor x, LinearWeight w);

    /**
     * activation(x·Wᵀ + b): a dense layer and the activation after it (BertIntermediate, GPT-2's c_fc).
     * A backend may fuse the two (the CPU backend applies it in place over the product: no second tensor).
     */
    default Tensor linear(Tensor x, LinearWeight w, Activation activation) {
        return activation(linear(x, w), activation);
    }

    /** Batched matrix product: a [..., M, K] · b [..., K, N] → [..., M, N] (b may be a transposed view). */
    Tensor matmul(Tensor a, Tensor b);

    /** a + b, with b's shape equal to a trailing part of a's (b broadcast over a's leading dims). */
    Tensor add(Tensor a, Tensor b);

    /** Layer normalization over the last dimension: (x − mean)/√(var + eps)·weight + bias (biased variance). */
    Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, float eps);

    /**
     * layerNorm(x + residual): HF's post-LayerNorm residual step ({@code LayerNorm(hidden + input)} in
     * BertSelfOutput/BertOutput), x and residual of the same shape. A backend may fuse the two.
     */
    default Tensor addLayerNorm(Tensor x, Tensor residual, Tensor weight, Tensor bias, float eps) {
        return layerNorm(add(x, residual), weight, bias, eps);
    }

    /** The activation applied element-wise. */
    Tensor activation(Tensor x, Activation activation);

    /** Softmax over the last dimension. */
    Tensor softmax(Tensor x);

    /** Rows of {@code table} [V, C] picked by integer {@code ids} [...] → [..., C]; ids out of range throw. */
    Tensor embedding(Tensor table, Tensor ids);

    /**
     * Scaled dot-product attention over heads: q [B, Tq, h·d], k and v [B, Tk, h·d] (views with any
     * row stride, last dimension contiguous) → context [B, Tq, h·d], optionally probs [B, h, Tq, Tk].
     * scores = q·kᵀ·scale, masked as {@link AttentionMask} says, softmax over keys.
     */
    AttentionOutput attention(Tensor q, Tensor k, Tensor v, int heads, AttentionMask mask, float scale,
                              boolean returnProbs);

    /**
     * Hands back a tensor this backend produced, which the caller and every view of it will never use
     * again, so that a later output can reuse its memory (a forward pass then allocates nothing in its
     * steady state). Only the model code that made an intermediate calls this. The default does nothing.
     */
    default void recycle(Tensor t) {
    }

    /** Releases threads or device memory; the default does nothing. */
    @Override
    default void close() {
    }
}
