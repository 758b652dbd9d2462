package dev.jformers.benchmarks.models;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.GradientCollector;

import java.util.ArrayList;
import java.util.List;

/**
 * HF {@code BertForSequenceClassification}'s training step in libtorch's eager ops through DJL: the forward of
 * {@link TorchBert} plus the pooler (tanh of a dense layer on [CLS]), the classifier and the mean
 * cross-entropy; {@link GradientCollector} runs libtorch's autograd for the backward; then AdamW as
 * {@code torch.optim.AdamW}'s single-tensor path computes it (decoupled weight decay 0.01 except biases and
 * LayerNorm parameters, bias correction), in place on each parameter with grad mode off, gradients zeroed.
 * Every call's intermediates belong to the caller's NDScope.
 */
final class TorchBertTraining {
    private record Param(NDArray value, NDArray expAvg, NDArray expAvgSq, boolean decay) {
    }

    private record Layer(NDArray qW, NDArray qB, NDArray kW, NDArray kB, NDArray vW, NDArray vB, NDArray oW, NDArray oB,
                         NDArray ln1W, NDArray ln1B, NDArray iW, NDArray iB, NDArray o2W, NDArray o2B, NDArray ln2W, NDArray ln2B) {
    }

    static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8, WEIGHT_DECAY = 0.01;

    private final List<Param> params = new ArrayList<>();
    private final NDArray word, position, type, embLnW, embLnB, poolW, poolB, clsW, clsB;
    private final List<Layer> layers = new ArrayList<>();
    private final int hidden, heads;
    private final float eps = 1e-12f;
    private int step;

    TorchBertTraining(NDManager manager, TorchWeights w, int layerCount, int hidden, int heads) {
        this.hidden = hidden;
        this.heads = heads;
        word = param(manager, w, "bert.embeddings.word_embeddings.weight");
        position = param(manager, w, "bert.embeddings.position_embeddings.weight");
        type = param(manager, w, "bert.embeddings.token_type_embeddings.weight");
        embLnW = param(manager, w, "bert.embeddings.LayerNorm.weight");
        embLnB = param(manager, w, "bert.embeddings.LayerNorm.bias");
        for (int l = 0; l < layerCount; l++) {
            String p = "bert.encoder.layer." + l + ".";
            layers.add(new Layer(
                    param(manager, w, p + "attention.self.query.weight"), param(manager, w, p + "attention.self.query.bias"),
                    param(manager, w, p + "attention.self.key.weight"), param(manager, w, p + "attention.self.key.bias"),
                    param(manager, w, p + "attention.self.value.weight"), param(manager, w, p + "attention.self.value.bias"),
                    param(manager, w, p + "attention.output.dense.weight"), param(manager, w, p + "attention.output.dense.bias"),
                    param(manager, w, p + "attention.output.LayerNorm.weight"), param(manager, w, p + "attention.output.LayerNorm.bias"),
                    param(manager, w, p + "intermediate.dense.weight"), param(manager, w, p + "intermediate.dense.bias"),
                    param(manager, w, p + "output.dense.weight"), param(manager, w, p + "output.dense.bias"),
                    param(manager, w, p + "output.LayerNorm.weight"), param(manager, w, p + "output.LayerNorm.bias")));
        }
        poolW = param(manager, w, "bert.pooler.dense.weight");
        poolB = param(manager, w, "bert.pooler.dense.bias");
        clsW = param(manager, w, "classifier.weight");
        clsB = param(manager, w, "classifier.bias");
    }

    private NDArray param(NDManager manager, TorchWeights w, String name) {
        NDArray value = w.get(name);
        value.setRequiresGradient(true);
        boolean decay = !name.endsWith(".bias") && !name.contains("LayerNorm");
        params.add(new Param(value, manager.zeros(value.getShape()), manager.zeros(value.getShape()), decay));
        return value;
    }

    /** Forward and backward: returns the loss; every parameter's gradient then holds d loss / d parameter. */
    float forwardBackward(NDManager manager, long[][] ids, long[] labels) {
        try (GradientCollector collector = Engine.getEngine("PyTorch").newGradientCollector()) {
            NDArray loss = loss(manager, ids, labels);
            collector.backward(loss);
            return loss.getFloat();
        }
    }

    /** One AdamW update at {@code lr} from the gradients, then the gradients zeroed (grad mode is off here). */
    void adamW(double lr) {
        step++;
        double bc1 = 1 - Math.pow(BETA1, step), bc2Sqrt = Math.sqrt(1 - Math.pow(BETA2, step));
        for (Param p : params) {
            NDArray g = p.value().getGradient();
            if (p.decay()) {
                p.value().muli(1 - lr * WEIGHT_DECAY);
            }
            p.expAvg().muli(BETA1).addi(g.mul(1 - BETA1));
            p.expAvgSq().muli(BETA2).addi(g.mul(g).muli(1 - BETA2));
            NDArray denom = p.expAvgSq().sqrt().divi(bc2Sqrt).addi(EPS);
            p.value().subi(p.expAvg().div(denom).muli(lr / bc1));
            g.muli(0);
        }
    }

    private NDArray loss(NDManager manager, long[][] ids, long[] labels) {
        int b = ids.length, t = ids[0].length;
        long[] flat = new long[b * t];
        for (int i = 0; i < b; i++) {
            System.arraycopy(ids[i], 0, flat, i * t, t);
        }
        NDArray input = manager.create(flat, new Shape(b, t));
        NDArray x = Embedding.embedding(input, word, SparseFormat.DENSE).head()
                .add(position.get(new NDIndex("0:" + t)))
                .add(type.get(0));
        x = layerNorm(x, embLnW, embLnB);
        int d = hidden / heads;
        float scale = (float) (1.0 / Math.sqrt(d));
        for (Layer l : layers) {
            NDArray q = Linear.linear(x, l.qW, l.qB).head().reshape(b, t, heads, d).transpose(0, 2, 1, 3);
            NDArray k = Linear.linear(x, l.kW, l.kB).head().reshape(b, t, heads, d).transpose(0, 2, 1, 3);
            NDArray v = Linear.linear(x, l.vW, l.vB).head().reshape(b, t, heads, d).transpose(0, 2, 1, 3);
            NDArray probs = q.matMul(k.transpose(0, 1, 3, 2)).mul(scale).softmax(-1);
            NDArray context = probs.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, hidden);
            NDArray attention = layerNorm(Linear.linear(context, l.oW, l.oB).head().add(x), l.ln1W, l.ln1B);
            NDArray inter = Activation.gelu(Linear.linear(attention, l.iW, l.iB).head());
            x = layerNorm(Linear.linear(inter, l.o2W, l.o2B).head().add(attention), l.ln2W, l.ln2B);
        }
        NDArray pooled = Linear.linear(x.get(new NDIndex(":, 0, :")), poolW, poolB).head().tanh();   // [B, C]
        NDArray logits = Linear.linear(pooled, clsW, clsB).head();                                  // [B, labels]
        NDArray oneHot = manager.create(labels).oneHot(RandomBert.LABELS);
        return logits.logSoftmax(-1).mul(oneHot).sum().neg().div(b);
    }

    private NDArray layerNorm(NDArray x, NDArray w, NDArray bias) {
        return LayerNorm.layerNorm(x, new Shape(hidden), w, bias, eps).head();
    }
}
