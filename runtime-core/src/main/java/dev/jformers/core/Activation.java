package dev.jformers.core;

import java.util.Locale;

/** Element-wise activations, named as Hugging Face's {@code hidden_act} / {@code activation_function}. */
public enum Activation {
    /** Exact GELU: 0.5·x·(1 + erf(x/√2)) — HF "gelu" and "gelu_python" (the same formula written in Python). */
    GELU,
    /**
     * Tanh-approximated GELU: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) — HF "gelu_new", "gelu_pytorch_tanh" and
     * "gelu_fast" (which writes it as tanh(x·0.7978845608·(1 + 0.044715·x²)): the same function, its constant rounded
     * to 10 digits, about 1e-10 relative away, far below float32's resolution).
     */
    GELU_TANH,
    RELU,
    TANH,
    /** x·sigmoid(x) — HF "silu", "swish". */
    SILU;

    /** Maps a config string to an activation, or fails naming the ones jformers knows. */
    public static Activation fromHuggingFace(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "gelu", "gelu_python" -> GELU;
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> GELU_TANH;
            case "relu" -> RELU;
            case "tanh" -> TANH;
            case "silu", "swish" -> SILU;
            default -> throw new JformersException("unsupported activation '" + name
                    + "' (supported: gelu, gelu_python, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, tanh, silu, swish)");
        };
    }
}
