package dev.jformers.models;

import dev.jformers.core.Backend;
import dev.jformers.core.JformersException;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;

import java.util.Arrays;

/**
 * The losses of Hugging Face's heads, with its reductions and conventions (ignore index −100, labels shifted
 * inside causal LMs, QA positions clamped). Each returns a scalar tensor computed by the backend, so that a
 * training backend can differentiate it; null labels give a null loss.
 */
public final class Losses {
    private Losses() {
    }

    /**
     * Sequence classification by {@code problem_type}; when the config has none, HF's rule at the first
     * forward: one label → regression (MSE), integer labels → single-label (cross-entropy), else multi-label
     * (BCE with logits). logits [B, labels].
     */
    public static Tensor sequenceClassification(Backend b, CommonConfig config, Tensor logits, Tensor labels) {
        if (labels == null) {
            return null;
        }
        String problem = problemType(config, labels);
        int numLabels = logits.dim(-1);
        return switch (problem) {
            case "regression" -> {
                requireCount(labels, logits.numel(), "regression labels");
                yield b.mseLoss(logits, labels);
            }
            case "single_label_classification" -> b.crossEntropy(logits.reshape(-1, numLabels), labels.reshape(-1),
                    Labels.IGNORE_INDEX);
            case "multi_label_classification" -> {
                requireCount(labels, logits.numel(), "multi-label labels [batch, num_labels]");
                yield b.bceWithLogitsLoss(logits, labels);
            }
            default -> throw new JformersException("unknown problem_type '" + problem + "'");
        };
    }

    /** The problem type HF would use for these labels. */
    public static String problemType(CommonConfig config, Tensor labels) {
        if (config.problemType() != null) {
            return config.problemType();
        }
        if (config.numLabels() == 1) {
            return "regression";
        }
        return labels.dtype().isFloatingPoint() ? "multi_label_classification" : "single_label_classification";
    }

    /** Token classification and masked LM: logits [B, T, C] against labels [B, T], mean over the kept positions. */
    public static Tensor perToken(Backend b, Tensor logits, Tensor labels) {
        if (labels == null) {
            return null;
        }
        int classes = logits.dim(-1);
        requireCount(labels, logits.numel() / classes, "labels [batch, tokens]");
        return b.crossEntropy(logits.reshape(-1, classes), labels.reshape(-1), Labels.IGNORE_INDEX);
    }

    /**
     * Causal LM: HF shifts inside (logits[:, :-1] against labels[:, 1:]). Shifting the labels left instead,
     * with −100 in the last column, keeps the same positions and the same mean without copying the logits.
     */
    public static Tensor causalLM(Backend b, Tensor logits, Tensor labels) {
        if (labels == null) {
            return null;
        }
        int batch = logits.dim(0), tokens = logits.dim(1);
        requireCount(labels, (long) batch * tokens, "labels [batch, tokens]");
        long[] y = labels.toLongArray(), shifted = new long[y.length];
        for (int r = 0; r < batch; r++) {
            for (int t = 0; t < tokens; t++) {
                shifted[r * tokens + t] = t + 1 < tokens ? y[r * tokens + t + 1] : Labels.IGNORE_INDEX;
            }
        }
        return perToken(b, logits, Tensor.ofLongs(shifted, batch, tokens));
    }

    /**
     * Question answering: logits [B, T, 2]. Positions are clamped to [0, T] and T is ignored, so an answer
     * outside the sequence adds nothing; loss = (start loss + end loss) / 2.
     */
    public static Tensor questionAnswering(Backend b, Tensor logits, Labels labels) {
        if (labels == null || labels.startPositions() == null || labels.endPositions() == null) {
            return null;
        }
        int tokens = logits.dim(1);
        Tensor start = b.crossEntropy(logits.select(2, 0), clamp(labels.startPositions(), tokens), tokens);
        Tensor end = b.crossEntropy(logits.select(2, 1), clamp(labels.endPositions(), tokens), tokens);
        return b.scale(b.add(start, end), 0.5f);
    }

    private static Tensor clamp(Tensor positions, int max) {
        long[] p = positions.toLongArray();
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.max(0, Math.min(max, p[i]));
        }
        return Tensor.ofLongs(p, p.length);
    }

    /** Plain cross-entropy of logits [B, C] against class ids [B] (multiple choice, next-sentence prediction). */
    public static Tensor classes(Backend b, Tensor logits, Tensor labels) {
        if (labels == null) {
            return null;
        }
        requireCount(labels, logits.dim(0), "labels [batch]");
        return b.crossEntropy(logits, labels.reshape(-1), Labels.IGNORE_INDEX);
    }

    private static void requireCount(Tensor labels, long expected, String what) {
        if (labels.numel() != expected) {
            throw new ShapeException("labels of shape " + Arrays.toString(labels.shape()) + " do not fit this head: "
                    + what + " (" + expected + " values)");
        }
    }
}
