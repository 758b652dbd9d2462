package dev.jformers.benchmarks.models;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * HF {@code BertForSequenceClassification}'s training step in libtorch's eager ops through DJL: {@link TorchBert}'s
 * forward, then the pooler (tanh of a dense layer on [CLS]), the classifier and the mean cross-entropy;
 * {@link GradientCollector} runs libtorch's autograd for the backward; then AdamW as {@code torch.optim.AdamW}'s
 * single-tensor path computes it (decoupled weight decay except on biases and LayerNorm parameters, bias
 * correction), in place on each parameter with grad mode off, gradients zeroed afterwards. Every call's
 * intermediates belong to the caller's NDScope.
 */
final class TorchBertTraining {
    private record Param(NDArray value, NDArray expAvg, NDArray expAvgSq, boolean decay) {
    }

    static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8, WEIGHT_DECAY = 0.01;

    private final TorchBert bert;
    private final NDArray poolW, poolB, clsW, clsB;
    private final List<Param> params = new ArrayList<>();
    private int step;

    /** {@code encoder} reads the checkpoint under "bert.", {@code head} without a prefix. */
    TorchBertTraining(NDManager manager, TorchWeights encoder, TorchWeights head, int layers, int hidden, int heads) {
        bert = new TorchBert(encoder, layers, hidden, heads);
        for (Map.Entry<String, NDArray> w : bert.weights().entrySet()) {
            param(manager, w.getKey(), w.getValue());
        }
        poolW = param(manager, "bert.pooler.dense.weight", head.get("bert.pooler.dense.weight"));
        poolB = param(manager, "bert.pooler.dense.bias", head.get("bert.pooler.dense.bias"));
        clsW = param(manager, "classifier.weight", head.get("classifier.weight"));
        clsB = param(manager, "classifier.bias", head.get("classifier.bias"));
    }

    private NDArray param(NDManager manager, String name, NDArray value) {
        value.setRequiresGradient(true);
        boolean decay = !name.endsWith(".bias") && !name.contains("LayerNorm");
        params.add(new Param(value, manager.zeros(value.getShape()), manager.zeros(value.getShape()), decay));
        return value;
    }

    /** Forward and backward: returns the loss; every parameter's gradient then holds d loss / d parameter. */
    float forwardBackward(NDManager manager, long[][] ids, long[] labels) {
        try (GradientCollector collector = Engine.getEngine("PyTorch").newGradientCollector()) {
            NDArray x = bert.forward(manager, ids);                                                    // [B, T, C]
            NDArray pooled = Linear.linear(x.get(new NDIndex(":, 0, :")), poolW, poolB).head().tanh();   // [B, C]
            NDArray logits = Linear.linear(pooled, clsW, clsB).head();                                  // [B, labels]
            NDArray oneHot = manager.create(labels).oneHot(RandomBert.LABELS);
            NDArray batch = manager.create((float) ids.length);   // not a Java number: see TorchBert.forward
            NDArray loss = logits.logSoftmax(-1).mul(oneHot).sum().neg().div(batch);
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
}
