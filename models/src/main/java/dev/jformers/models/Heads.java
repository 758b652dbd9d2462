package dev.jformers.models;

import dev.jformers.core.Backend;
import dev.jformers.core.Tensor;

/** Output plumbing shared by the task heads. */
public final class Heads {
    private Heads() {
    }

    /**
     * Whether the last encoder layer may compute only each sequence's first token, for a head that reads nothing but
     * h[:, 0] (the pooler, RoBERTa's and DistilBERT's classifiers): true unless hidden states or attentions are
     * returned (they hold every token) or {@code -Djformers.lastLayerAllTokens=true} asks for every row, as Hugging
     * Face computes them (for A/B comparisons). The logits are the same either way (no other row reaches them) in
     * evaluation or without dropout; in training with dropout the masks are drawn for fewer elements, so a seeded
     * run's random stream differs between the two.
     */
    public static boolean firstTokenOnly(ModelInput in) {
        return !in.outputHiddenStates() && !in.outputAttentions() && !Boolean.getBoolean("jformers.lastLayerAllTokens");
    }

    /** {@code out} with {@code loss} first, as HF's outputs order it (unchanged when loss is null). */
    public static ModelOutput withLoss(ModelOutput out, Tensor loss) {
        if (loss == null) {
            return out;
        }
        ModelOutput withLoss = new ModelOutput().put("loss", loss);
        out.asMap().forEach(withLoss::put);
        return withLoss;
    }

    /** Question answering: logits [B, T, 2] → {@code start_logits}, {@code end_logits} [B, T]. */
    public static ModelOutput spanLogits(Backend backend, Tensor logits, EncoderOutput enc) {
        Tensor host = Tensors.host(backend, logits);
        return enc.addTo(new ModelOutput()
                .put("start_logits", host.select(2, 0).contiguous())
                .put("end_logits", host.select(2, 1).contiguous()), backend);
    }

    /** Multiple choice: one score per flattened row [B·C, 1] → {@code logits} [B, C]. */
    public static ModelOutput choiceLogits(Backend backend, Tensor scores, int choices, EncoderOutput enc) {
        return enc.addTo(new ModelOutput().put("logits", Tensors.host(backend, scores).reshape(-1, choices)), backend);
    }

    /** {@code logits} on the host plus hidden states / attentions when asked for. */
    public static ModelOutput logits(Backend backend, Tensor logits, EncoderOutput enc) {
        return enc.addTo(new ModelOutput().put("logits", Tensors.host(backend, logits)), backend);
    }

    /** The number of choices of multiple-choice input [B, C, T]. */
    public static int choices(ModelInput in, String model) {
        if (in.inputIds().rank() != 3) {
            throw dev.jformers.core.ShapeException.of(model, "input_ids [batch, choices, tokens]", in.inputIds().shape());
        }
        return in.inputIds().dim(1);
    }
}
