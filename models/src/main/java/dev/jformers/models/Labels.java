package dev.jformers.models;

import dev.jformers.core.Tensor;

/**
 * The targets a head's loss is computed against, named as the {@code forward} arguments of Hugging Face's
 * heads; each is null when absent. With labels, {@link PreTrainedModel#forward(ModelInput, Labels)} also
 * returns {@code loss} (a scalar), as HF's heads do.
 *
 * @param labels            class ids [B] (I64) for classification; floats [B] (regression) or [B, labels]
 *                          (multi-label); token labels [B, T] for token classification, masked and causal LM
 *                          (−100 = ignored); the right choice [B] for multiple choice
 * @param startPositions    question answering: answer start [B] (I64)
 * @param endPositions      question answering: answer end [B] (I64)
 * @param nextSentenceLabel next-sentence prediction / pre-training: [B] (0 = B continues A, 1 = random)
 */
public record Labels(Tensor labels, Tensor startPositions, Tensor endPositions, Tensor nextSentenceLabel) {

    /** PyTorch's {@code ignore_index}: a position whose label is −100 adds nothing to the loss. */
    public static final int IGNORE_INDEX = -100;

    public static Labels of(Tensor labels) {
        return new Labels(labels, null, null, null);
    }

    public static Labels spans(Tensor startPositions, Tensor endPositions) {
        return new Labels(null, startPositions, endPositions, null);
    }

    public Labels withNextSentenceLabel(Tensor label) {
        return new Labels(labels, startPositions, endPositions, label);
    }

    /** {@link #labels()}, or a clear error naming the head that needs it. */
    public Tensor require(String head) {
        if (labels == null) {
            throw new dev.jformers.core.JformersException(head + ": labels are required for its loss");
        }
        return labels;
    }
}
