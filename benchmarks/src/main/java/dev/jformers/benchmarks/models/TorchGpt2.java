package dev.jformers.benchmarks.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;

import java.util.ArrayList;
import java.util.List;

/**
 * HF {@code GPT2LMHeadModel} greedy decoding with a KV cache (batch 1), written with libtorch's eager
 * ops through DJL: pre-LayerNorm blocks, fused qkv linear, causal attention over the cached keys and
 * values (concatenated per step, as HF's DynamicCache does), gelu_new, ln_f, tied lm_head on the last
 * position only. Conv1D weights [in, out] are transposed once into torch.nn.Linear's [out, in].
 */
final class TorchGpt2 {
    private record Block(NDArray ln1W, NDArray ln1B, NDArray attnW, NDArray attnB, NDArray projW, NDArray projB,
                         NDArray ln2W, NDArray ln2B, NDArray fcW, NDArray fcB, NDArray fc2W, NDArray fc2B) {
    }

    private final NDArray wte, wpe, lnfW, lnfB;
    private final List<Block> blocks = new ArrayList<>();
    private final int hidden, heads;
    private final float eps = 1e-5f;

    TorchGpt2(TorchWeights w, int layers, int hidden, int heads) {
        this.hidden = hidden;
        this.heads = heads;
        wte = w.get("wte.weight");
        wpe = w.get("wpe.weight");
        lnfW = w.get("ln_f.weight");
        lnfB = w.get("ln_f.bias");
        for (int l = 0; l < layers; l++) {
            String p = "h." + l + ".";
            blocks.add(new Block(w.get(p + "ln_1.weight"), w.get(p + "ln_1.bias"),
                    w.getTransposed(p + "attn.c_attn.weight"), w.get(p + "attn.c_attn.bias"),
                    w.getTransposed(p + "attn.c_proj.weight"), w.get(p + "attn.c_proj.bias"),
                    w.get(p + "ln_2.weight"), w.get(p + "ln_2.bias"),
                    w.getTransposed(p + "mlp.c_fc.weight"), w.get(p + "mlp.c_fc.bias"),
                    w.getTransposed(p + "mlp.c_proj.weight"), w.get(p + "mlp.c_proj.bias")));
        }
    }

    /**
     * Greedy decoding: the prompt in one pass, then one token per step.
     *
     * @param firstLogits when not null, receives the logits after the prompt (element 0)
     * @return the new tokens
     */
    long[] generate(NDManager manager, long[] prompt, int newTokens, float[][] firstLogits) {
        NDArray[] keys = new NDArray[blocks.size()], values = new NDArray[blocks.size()];
        long[] out = new long[newTokens];
        NDArray ids = manager.create(prompt, new Shape(1, prompt.length));
        int past = 0;
        for (int step = 0; step < newTokens; step++) {
            NDArray logits = step(manager, ids, past, keys, values);   // [1, V]
            if (step == 0 && firstLogits != null) {
                firstLogits[0] = logits.toFloatArray();
            }
            past += (int) ids.getShape().get(1);
            out[step] = logits.argMax().toLongArray()[0];
            ids = manager.create(new long[] {out[step]}, new Shape(1, 1));
        }
        return out;
    }

    /** ids [1, t] at positions past..past+t-1 → logits of the last position [1, V]; appends to the caches. */
    private NDArray step(NDManager manager, NDArray ids, int past, NDArray[] keys, NDArray[] values) {
        int t = (int) ids.getShape().get(1), d = hidden / heads, total = past + t;
        float scale = (float) (1.0 / Math.sqrt(d));
        NDArray x = Embedding.embedding(ids, wte, SparseFormat.DENSE).head().add(wpe.get(new NDIndex(past + ":" + total)));   // [1, t, C]
        NDArray causal = null;
        if (t > 1) {   // -inf above the diagonal: query i sees keys 0..past+i
            float[] m = new float[t * total];
            for (int i = 0; i < t; i++) {
                for (int j = past + i + 1; j < total; j++) {
                    m[i * total + j] = Float.NEGATIVE_INFINITY;
                }
            }
            causal = manager.create(m, new Shape(t, total));
        }
        for (int l = 0; l < blocks.size(); l++) {
            Block b = blocks.get(l);
            NDArray qkv = Linear.linear(layerNorm(x, b.ln1W, b.ln1B), b.attnW, b.attnB).head();            // [1, t, 3C]
            NDArray q = heads(qkv.get(new NDIndex(":, :, 0:" + hidden)), t, d);                             // [1, h, t, d]
            NDArray k = heads(qkv.get(new NDIndex(":, :, " + hidden + ":" + 2 * hidden)), t, d);
            NDArray v = heads(qkv.get(new NDIndex(":, :, " + 2 * hidden + ":")), t, d);
            keys[l] = keys[l] == null ? k : keys[l].concat(k, 2);                                           // [1, h, total, d]
            values[l] = values[l] == null ? v : values[l].concat(v, 2);
            NDArray scores = q.matMul(keys[l].transpose(0, 1, 3, 2)).mul(scale);                             // [1, h, t, total]
            if (causal != null) {
                scores = scores.add(causal);
            }
            NDArray context = scores.softmax(-1).matMul(values[l]).transpose(0, 2, 1, 3).reshape(1, t, hidden);
            x = x.add(Linear.linear(context, b.projW, b.projB).head());
            NDArray f = geluNew(Linear.linear(layerNorm(x, b.ln2W, b.ln2B), b.fcW, b.fcB).head());           // [1, t, 4C]
            x = x.add(Linear.linear(f, b.fc2W, b.fc2B).head());
        }
        NDArray last = layerNorm(x.get(new NDIndex(":, " + (t - 1) + ", :")), lnfW, lnfB);                  // [1, C]
        return Linear.linear(last, wte).head();                                                              // [1, V]
    }

    private NDArray heads(NDArray x, int t, int d) {
        return x.reshape(1, t, heads, d).transpose(0, 2, 1, 3);
    }

    /** HF gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
    private static NDArray geluNew(NDArray x) {
        return x.pow(3).mul(0.044715f).add(x).mul((float) Math.sqrt(2 / Math.PI)).tanh().add(1f).mul(x).mul(0.5f);
    }

    private NDArray layerNorm(NDArray x, NDArray w, NDArray b) {
        return LayerNorm.layerNorm(x, new Shape(hidden), w, b, eps).head();
    }
}
