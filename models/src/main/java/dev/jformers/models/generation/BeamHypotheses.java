package dev.jformers.models.generation;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * HF's {@code BeamHypotheses}: the num_beams best finished hypotheses of one prompt, each scored
 * sum_logprobs / length^length_penalty (length = the whole row, padded prompt included, eos not counted;
 * computed in double from the float32 sum, as Python does), and HF's rule for when the prompt is done.
 */
final class BeamHypotheses {
    record Hypothesis(double score, long[] tokens) {
    }

    private final int numBeams;
    private final double lengthPenalty;
    private final GenerationConfig.EarlyStopping earlyStopping;
    private final int maxLength;
    private final List<Hypothesis> beams = new ArrayList<>();
    private double worstScore = 1e9;

    BeamHypotheses(int numBeams, double lengthPenalty, GenerationConfig.EarlyStopping earlyStopping, int maxLength) {
        this.numBeams = numBeams;
        this.lengthPenalty = lengthPenalty;
        this.earlyStopping = earlyStopping;
        this.maxLength = maxLength;
    }

    /** Offers a hypothesis; kept if there is room or it beats the worst one (which then goes). */
    void add(long[] tokens, float sumLogprobs) {
        double score = sumLogprobs / Math.pow(tokens.length, lengthPenalty);
        if (beams.size() < numBeams || score > worstScore) {
            beams.add(new Hypothesis(score, tokens));
            if (beams.size() > numBeams) {
                // HF sorts (score, index) pairs: the lowest score goes, the earlier one on ties
                int worst = 0;
                for (int i = 1; i < beams.size(); i++) {
                    if (beams.get(i).score() < beams.get(worst).score()) {
                        worst = i;
                    }
                }
                beams.remove(worst);
                worstScore = beams.stream().mapToDouble(Hypothesis::score).min().orElse(1e9);
            } else {
                worstScore = Math.min(score, worstScore);
            }
        }
    }

    /**
     * Whether no open beam can beat the kept hypotheses any more: true as soon as num_beams are kept with
     * early_stopping true; otherwise when the worst kept ≥ the best candidate score over cur_len^lp ("never": over
     * max_length^lp when length_penalty > 0, the best a beam could still reach).
     */
    boolean isDone(float bestSumLogprobs, int curLen) {
        if (beams.size() < numBeams) {
            return false;
        }
        if (earlyStopping == GenerationConfig.EarlyStopping.TRUE) {
            return true;
        }
        int length = earlyStopping == GenerationConfig.EarlyStopping.NEVER && lengthPenalty > 0 ? maxLength : curLen;
        double highestAttainable = bestSumLogprobs / Math.pow(length, lengthPenalty);
        return worstScore >= highestAttainable;
    }

    /** Kept hypotheses, best first (Python's stable sort then pop(): on equal scores the later one first). */
    List<Hypothesis> bestFirst() {
        List<Hypothesis> sorted = new ArrayList<>(beams);
        sorted.sort(Comparator.comparingDouble(Hypothesis::score));
        List<Hypothesis> out = new ArrayList<>();
        for (int i = sorted.size() - 1; i >= 0; i--) {
            out.add(sorted.get(i));
        }
        return out;
    }
}
