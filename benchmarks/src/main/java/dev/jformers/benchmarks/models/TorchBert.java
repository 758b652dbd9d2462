package dev.jformers.benchmarks.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * HF {@code BertModel.forward} (no padding: the additive mask is all zeros and is left out) written with
 * libtorch's eager ops through DJL: embedding lookups, torch.nn.functional.linear, layer_norm, softmax,
 * erf GELU, batched matmul for attention; {@link #pool} is its pooler. Weights are the checkpoint's, copied once.
 */
final class TorchBert {
    private record Layer(NDArray qW, NDArray qB, NDArray kW, NDArray kB, NDArray vW, NDArray vB, NDArray oW, NDArray oB,
                         NDArray ln1W, NDArray ln1B, NDArray iW, NDArray iB, NDArray o2W, NDArray o2B, NDArray ln2W, NDArray ln2B) {
    }

    private final NDArray word, position, type, embLnW, embLnB;
    private final NDArray poolerW, poolerB;   // null unless asked for (the training benchmark keeps its own, as parameters)
    private final List<Layer> layers = new ArrayList<>();
    private final Map<String, NDArray> named = new LinkedHashMap<>();
    private final int hidden, heads;
    private final float eps = 1e-12f;

    TorchBert(TorchWeights w, int layerCount, int hidden, int heads) {
        this(w, layerCount, hidden, heads, false);
    }

    /** With {@code pooler}, also the checkpoint's pooler.dense weights, for {@link #pool}. */
    TorchBert(TorchWeights w, int layerCount, int hidden, int heads, boolean pooler) {
        this.hidden = hidden;
        this.heads = heads;
        word = get(w, "embeddings.word_embeddings.weight");
        position = get(w, "embeddings.position_embeddings.weight");
        type = get(w, "embeddings.token_type_embeddings.weight");
        embLnW = get(w, "embeddings.LayerNorm.weight");
        embLnB = get(w, "embeddings.LayerNorm.bias");
        for (int l = 0; l < layerCount; l++) {
            String p = "encoder.layer." + l + ".";
            layers.add(new Layer(
                    get(w, p + "attention.self.query.weight"), get(w, p + "attention.self.query.bias"),
                    get(w, p + "attention.self.key.weight"), get(w, p + "attention.self.key.bias"),
                    get(w, p + "attention.self.value.weight"), get(w, p + "attention.self.value.bias"),
                    get(w, p + "attention.output.dense.weight"), get(w, p + "attention.output.dense.bias"),
                    get(w, p + "attention.output.LayerNorm.weight"), get(w, p + "attention.output.LayerNorm.bias"),
                    get(w, p + "intermediate.dense.weight"), get(w, p + "intermediate.dense.bias"),
                    get(w, p + "output.dense.weight"), get(w, p + "output.dense.bias"),
                    get(w, p + "output.LayerNorm.weight"), get(w, p + "output.LayerNorm.bias")));
        }
        // not in weights(): those are the training benchmark's parameters, and it holds the pooler as its own
        poolerW = pooler ? w.get("pooler.dense.weight") : null;
        poolerB = pooler ? w.get("pooler.dense.bias") : null;
    }

    private NDArray get(TorchWeights w, String name) {
        NDArray a = w.get(name);
        named.put(name, a);
        return a;
    }

    /** Every weight under its checkpoint name (without the TorchWeights prefix), in the order read: the training benchmark's parameters. */
    Map<String, NDArray> weights() {
        return Collections.unmodifiableMap(named);
    }

    /**
     * ids [B, T] (int64, token types 0) → last_hidden_state [B, T, C]. Intermediates belong to the caller's NDScope.
     *
     * <p>No Java number goes into an operation here: DJL turns {@code x.mul(0.125f)} into a scalar tensor over a JVM
     * direct buffer (libtorch's from_blob, no copy) and closes it as soon as the product returns, while libtorch's
     * autograd keeps that scalar for the backward (MulBackward saves its other factor). Once a GC frees the buffer,
     * the backward reads freed memory: the training benchmark's libtorch step gave NaN or a wrong loss that way. The
     * scalars are tensors of the caller's scope instead, alive until after the backward.
     */
    NDArray forward(NDManager manager, long[][] ids) {
        int b = ids.length, t = ids[0].length;
        long[] flat = new long[b * t];
        for (int i = 0; i < b; i++) {
            System.arraycopy(ids[i], 0, flat, i * t, t);
        }
        NDArray input = manager.create(flat, new Shape(b, t));
        // x: [B, T, C] = word[ids] + position[0..T) + type[0]
        NDArray x = Embedding.embedding(input, word, SparseFormat.DENSE).head()
                .add(position.get(new NDIndex("0:" + t)))
                .add(type.get(0));
        x = layerNorm(x, embLnW, embLnB);
        int d = hidden / heads;
        NDArray scale = manager.create((float) (1.0 / Math.sqrt(d)));   // a tensor that lives as long as the scope: see below
        for (Layer l : layers) {
            // q, k, v: [B, T, C] -> [B, h, T, d]
            NDArray q = Linear.linear(x, l.qW, l.qB).head().reshape(b, t, heads, d).transpose(0, 2, 1, 3);
            NDArray k = Linear.linear(x, l.kW, l.kB).head().reshape(b, t, heads, d).transpose(0, 2, 1, 3);
            NDArray v = Linear.linear(x, l.vW, l.vB).head().reshape(b, t, heads, d).transpose(0, 2, 1, 3);
            NDArray probs = q.matMul(k.transpose(0, 1, 3, 2)).mul(scale).softmax(-1);          // [B, h, T, T]
            NDArray context = probs.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, hidden);      // [B, T, C]
            NDArray attention = layerNorm(Linear.linear(context, l.oW, l.oB).head().add(x), l.ln1W, l.ln1B);
            NDArray inter = Activation.gelu(Linear.linear(attention, l.iW, l.iB).head());     // [B, T, 4C], erf GELU
            x = layerNorm(Linear.linear(inter, l.o2W, l.o2B).head().add(attention), l.ln2W, l.ln2B);
        }
        return x;
    }

    /** HF's BertPooler: last_hidden_state [B, T, C] → pooler_output [B, C] = tanh(dense(h[:, 0])). */
    NDArray pool(NDArray hidden) {
        if (poolerW == null) {
            throw new IllegalStateException("this TorchBert was built without its pooler");
        }
        return Activation.tanh(Linear.linear(hidden.get(new NDIndex(":, 0, :")), poolerW, poolerB).head());
    }

    private NDArray layerNorm(NDArray x, NDArray w, NDArray b) {
        return LayerNorm.layerNorm(x, new Shape(hidden), w, b, eps).head();
    }
}
