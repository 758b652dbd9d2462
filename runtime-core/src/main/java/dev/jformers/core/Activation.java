package dev.jformers.core;

import java.util.Locale;

/** Element-wise activations, named as Hugging Face's {@code hidden_act} / {@code activation_function}. */
public enum Activation {
    /** Exact GELU: 0.5·x·(1 + erf(x/√2)) — HF "gelu". */
    GELU,
    /** Tanh-approximated GELU: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) — HF "gelu_new", "gelu_pytorch_tanh". */
    GELU_TANH,
    RELU,
    TANH,
    /** x·sigmoid(x) — HF "silu", "swish". */
    SILU;

    /** Maps a config string to an activation, or fails naming the ones jformers knows. */
    public static Activation fromHuggingFace(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "gelu" -> GELU;
            case "gelu_new", "gelu_pytorch_tanh" -> GELU_TANH;
            case "relu" -> RELU;
            case "tanh" -> TANH;
            case "silu", "swish" -> SILU;
            default -> throw new JformersException("unsupported activation '" + name
                    + "' (supported: gelu, gelu_new, gelu_pytorch_tanh, relu, tanh, silu, swish)");
        };
    }
}
