package dev.jformers.models.generation;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * The logits processors and warpers of HF's {@code generate}, in the order HF applies them:
 * repetition penalty, then temperature, top-k and top-p, then sampling from the softmax.
 */
public final class LogitsProcessing {
    private LogitsProcessing() {
    }

    /** Every id already in the sequence: logit·p if negative, logit/p if not (CTRL). */
    public static void repetitionPenalty(float[] logits, long[] sequence, int length, double penalty) {
        if (penalty == 1.0) {
            return;
        }
        boolean[] seen = new boolean[logits.length];
        for (int i = 0; i < length; i++) {
            int id = (int) sequence[i];
            if (id >= 0 && id < logits.length && !seen[id]) {
                seen[id] = true;
                logits[id] = (float) (logits[id] < 0 ? logits[id] * penalty : logits[id] / penalty);
            }
        }
    }

    public static void temperature(float[] logits, double temperature) {
        if (temperature != 1.0) {
            for (int i = 0; i < logits.length; i++) {
                logits[i] = (float) (logits[i] / temperature);
            }
        }
    }

    /** Keeps the k largest logits (and ties with the k-th), sets the rest to −∞. */
    public static void topK(float[] logits, int k) {
        if (k <= 0 || k >= logits.length) {
            return;
        }
        float[] sorted = logits.clone();
        Arrays.sort(sorted);
        float kth = sorted[sorted.length - k];
        for (int i = 0; i < logits.length; i++) {
            if (logits[i] < kth) {
                logits[i] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    /**
     * Nucleus filtering as HF does it: sort ascending, drop the tokens whose cumulative
     * probability stays ≤ 1 − p, always keeping the most likely one.
     */
    public static void topP(float[] logits, double p) {
        if (p >= 1.0) {
            return;
        }
        Integer[] order = new Integer[logits.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(logits[a], logits[b]));
        double[] probs = softmax(logits);
        double cumulative = 0;
        for (int r = 0; r < order.length - 1; r++) {   // the last (largest) one always stays
            cumulative += probs[order[r]];
            if (cumulative <= 1.0 - p) {
                logits[order[r]] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    public static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = logits[i] == Float.NEGATIVE_INFINITY ? 0 : Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** The index of the largest logit (the first one on ties, like torch.argmax). */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Draws an index from softmax(logits). */
    public static int sample(float[] logits, RandomGenerator random) {
        double[] p = softmax(logits);
        double u = random.nextDouble();
        double cumulative = 0;
        int last = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0) {
                cumulative += p[i];
                last = i;
                if (u < cumulative) {
                    return i;
                }
            }
        }
        return last;
    }
}
