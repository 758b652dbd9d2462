package dev.jformers.models.generation;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One of HF's logits processors or warpers, applied to one row: {@code scores} [vocab] (float32, changed in place)
 * given the row's ids so far ({@code ids[0..length)}, prompt and left padding included, as HF sees
 * {@code input_ids}). Every HF processor jformers implements works row by row, so beam rows and batch rows are the
 * same to them. The nested records carry HF's class names and rules (transformers 4.28); {@link #processors} and
 * {@link #warpers} chain them in the order {@code generate} does.
 */
public interface LogitsProcessor {

    void process(long[] ids, int length, float[] scores);

    float NEG_INF = Float.NEGATIVE_INFINITY;

    /**
     * HF's {@code _get_logits_processor}: RepetitionPenalty → NoRepeatNGram → NoBadWords → MinLength →
     * MinNewTokensLength → ForcedBOS → ForcedEOS → InfNanRemove → ExponentialDecayLengthPenalty → SuppressTokens →
     * SuppressTokensAtBegin → LogitNormalization (renormalize_logits).
     *
     * @param promptLength T, the padded prompt width
     * @param maxLength    the effective max_length (T + max_new_tokens when that is set)
     */
    static List<LogitsProcessor> processors(GenerationConfig c, int promptLength, int maxLength) {
        List<LogitsProcessor> out = new ArrayList<>();
        int[] eos = c.eosTokenIds();
        if (c.repetitionPenalty() != 1.0) {
            out.add(new RepetitionPenalty(c.repetitionPenalty()));
        }
        if (c.noRepeatNgramSize() > 0) {
            out.add(new NoRepeatNGram(c.noRepeatNgramSize()));
        }
        if (c.badWordsIds() != null) {
            out.add(new NoBadWords(c.badWordsIds(), eos));
        }
        if (eos != null && c.minLength() > 0) {
            out.add(new MinLength(c.minLength(), eos));
        }
        if (eos != null && c.minNewTokens() != null && c.minNewTokens() > 0) {
            out.add(new MinNewTokensLength(promptLength, c.minNewTokens(), eos));
        }
        if (c.forcedBosTokenId() != null) {
            out.add(new ForcedBOS(c.forcedBosTokenId()));
        }
        if (c.forcedEosTokenIds() != null) {
            out.add(new ForcedEOS(maxLength, c.forcedEosTokenIds()));
        }
        if (c.removeInvalidValues()) {
            out.add(new InfNanRemove());
        }
        double[] decay = c.exponentialDecayLengthPenalty();
        if (decay != null) {
            out.add(new ExponentialDecayLengthPenalty((int) decay[0] + promptLength, (float) decay[1], eos == null ? new int[0] : eos));
        }
        if (c.suppressTokens() != null) {
            out.add(new SuppressTokens(c.suppressTokens()));
        }
        if (c.beginSuppressTokens() != null) {
            // HF: begin_index = input length, +1 when the prompt is one token and a bos is forced
            int begin = promptLength > 1 || c.forcedBosTokenId() == null ? promptLength : promptLength + 1;
            out.add(new SuppressTokensAtBegin(c.beginSuppressTokens(), begin));
        }
        if (c.renormalizeLogits()) {
            out.add(new LogitNormalization());
        }
        return out;
    }

    /**
     * HF's {@code _get_logits_warper} (sampling only): Temperature → TopK → TopP → Typical → Epsilon → Eta →
     * LogitNormalization; each keeps at least 2 tokens with beams, 1 without.
     */
    static List<LogitsProcessor> warpers(GenerationConfig c) {
        List<LogitsProcessor> out = new ArrayList<>();
        int keep = c.numBeams() > 1 ? 2 : 1;
        if (c.temperature() != 1.0) {
            out.add(new Temperature(c.temperature()));
        }
        if (c.topK() != 0) {
            out.add(new TopK(c.topK(), keep));
        }
        if (c.topP() < 1.0) {
            out.add(new TopP(c.topP(), keep));
        }
        if (c.typicalP() < 1.0) {
            out.add(new Typical(c.typicalP(), keep));
        }
        if (c.epsilonCutoff() > 0 && c.epsilonCutoff() < 1) {
            out.add(new Epsilon(c.epsilonCutoff(), keep));
        }
        if (c.etaCutoff() > 0 && c.etaCutoff() < 1) {
            out.add(new Eta(c.etaCutoff(), keep));
        }
        if (c.renormalizeLogits()) {
            out.add(new LogitNormalization());
        }
        return out;
    }

    static void applyAll(List<LogitsProcessor> list, long[] ids, int length, float[] scores) {
        for (LogitsProcessor p : list) {
            p.process(ids, length, scores);
        }
    }

    // ---------------------------------------------------------------- processors

    /** CTRL's penalty on every id already in the row (each once): s &lt; 0 ? s·p : s/p. */
    record RepetitionPenalty(double penalty) implements LogitsProcessor {
        public RepetitionPenalty {
            if (!(penalty > 0)) {
                throw new GenerationException("repetition_penalty has to be a strictly positive float, but is " + penalty);
            }
        }

        @Override
        public void process(long[] ids, int length, float[] scores) {
            float p = (float) penalty;
            boolean[] seen = new boolean[scores.length];
            for (int i = 0; i < length; i++) {
                int id = (int) ids[i];
                if (!seen[id]) {
                    seen[id] = true;
                    scores[id] = scores[id] < 0 ? scores[id] * p : scores[id] / p;
                }
            }
        }
    }

    /** Bans every token that would repeat an n-gram of the row (prompt and padding included). */
    record NoRepeatNGram(int ngramSize) implements LogitsProcessor {
        public NoRepeatNGram {
            if (ngramSize <= 0) {
                throw new GenerationException("no_repeat_ngram_size has to be a strictly positive integer, but is " + ngramSize);
            }
        }

        @Override
        public void process(long[] ids, int length, float[] scores) {
            int n = ngramSize;
            if (length + 1 < n) {
                return;
            }
            int start = length + 1 - n;   // the last n−1 ids, which a new token would complete to an n-gram
            for (int s = 0; s + n <= length; s++) {
                boolean match = true;
                for (int j = 0; j < n - 1 && match; j++) {
                    match = ids[s + j] == ids[start + j];
                }
                if (match) {
                    scores[(int) ids[s + n - 1]] = NEG_INF;
                }
            }
        }
    }

    /** Single-id entries are always banned; a longer entry bans its last id when the row ends with the rest. */
    record NoBadWords(int[][] badWordsIds, int[] eos) implements LogitsProcessor {
        public NoBadWords {
            if (badWordsIds.length == 0) {
                throw new GenerationException("bad_words_ids has to be a non-empty list, but is []");
            }
            List<int[]> kept = new ArrayList<>();
            for (int[] word : badWordsIds) {
                if (word.length == 0) {
                    throw new GenerationException("each list in bad_words_ids has to be a non-empty list of positive integers");
                }
                for (int id : word) {
                    if (id < 0) {
                        throw new GenerationException("each list in bad_words_ids has to be a list of positive integers, got " + id);
                    }
                }
                boolean isEos = false;
                for (int e : eos == null ? new int[0] : eos) {
                    isEos |= word.length == 1 && word[0] == e;   // HF drops an entry equal to [eos]
                }
                if (!isEos) {
                    kept.add(word);
                }
            }
            badWordsIds = kept.toArray(int[][]::new);
        }

        @Override
        public void process(long[] ids, int length, float[] scores) {
            for (int[] word : badWordsIds) {
                int prefix = word.length - 1;
                boolean match = prefix <= length;
                for (int j = 0; j < prefix && match; j++) {
                    match = ids[length - prefix + j] == word[j];
                }
                if (match && word[prefix] < scores.length) {
                    scores[word[prefix]] = NEG_INF;
                }
            }
        }
    }

    /** eos is banned while the whole row (padded prompt included) is shorter than min_length. */
    record MinLength(int minLength, int[] eos) implements LogitsProcessor {
        @Override
        public void process(long[] ids, int length, float[] scores) {
            if (length < minLength) {
                for (int e : eos) {
                    scores[e] = NEG_INF;
                }
            }
        }
    }

    /** eos is banned while fewer than min_new_tokens tokens follow the prompt. */
    record MinNewTokensLength(int promptLengthToSkip, int minNewTokens, int[] eos) implements LogitsProcessor {
        @Override
        public void process(long[] ids, int length, float[] scores) {
            if (length - promptLengthToSkip < minNewTokens) {
                for (int e : eos) {
                    scores[e] = NEG_INF;
                }
            }
        }
    }

    /** At the first position (a one-token row) only the forced id stays, with score 0. */
    record ForcedBOS(int bos) implements LogitsProcessor {
        @Override
        public void process(long[] ids, int length, float[] scores) {
            if (length == 1) {
                Arrays.fill(scores, NEG_INF);
                scores[bos] = 0;
            }
        }
    }

    /** At the last position (length == max_length − 1) only the forced ids stay, with score 0. */
    record ForcedEOS(int maxLength, int[] eos) implements LogitsProcessor {
        @Override
        public void process(long[] ids, int length, float[] scores) {
            if (length == maxLength - 1) {
                Arrays.fill(scores, NEG_INF);
                for (int e : eos) {
                    scores[e] = 0;
                }
            }
        }
    }

    /** NaN → 0 and +∞ → float32 max (HF 4.28 leaves −∞ as it is). */
    record InfNanRemove() implements LogitsProcessor {
        @Override
        public void process(long[] ids, int length, float[] scores) {
            for (int i = 0; i < scores.length; i++) {
                if (Float.isNaN(scores[i])) {
                    scores[i] = 0;
                } else if (scores[i] == Float.POSITIVE_INFINITY) {
                    scores[i] = Float.MAX_VALUE;
                }
            }
        }
    }

    /** HF 4.28: after regulation_start, eos scores are multiplied by factor^(length − start). */
    record ExponentialDecayLengthPenalty(int regulationStart, float factor, int[] eos) implements LogitsProcessor {
        @Override
        public void process(long[] ids, int length, float[] scores) {
            if (length > regulationStart) {
                float m = (float) Math.pow(factor, length - regulationStart);
                for (int e : eos) {
                    scores[e] = scores[e] * m;
                }
            }
        }
    }

    /** HF's suppress_tokens: these ids can never be generated (score −inf at every step). */
    record SuppressTokens(int[] tokens) implements LogitsProcessor {
        @Override
        public void process(long[] ids, int length, float[] scores) {
            for (int t : tokens) {
                scores[t] = NEG_INF;
            }
        }
    }

    /** Suppresses the tokens at one position only: the first generated one. */
    record SuppressTokensAtBegin(int[] tokens, int beginIndex) implements LogitsProcessor {
        @Override
        public void process(long[] ids, int length, float[] scores) {
            if (length == beginIndex) {
                for (int t : tokens) {
                    scores[t] = NEG_INF;
                }
            }
        }
    }

    /** log_softmax over the vocabulary (renormalize_logits). */
    record LogitNormalization() implements LogitsProcessor {
        @Override
        public void process(long[] ids, int length, float[] scores) {
            logSoftmax(scores);
        }
    }

    // ---------------------------------------------------------------- warpers

    /** scores / temperature. */
    record Temperature(double temperature) implements LogitsProcessor {
        public Temperature {
            if (!(temperature > 0)) {
                throw new GenerationException("temperature has to be a strictly positive float, but is " + temperature);
            }
        }

        @Override
        public void process(long[] ids, int length, float[] scores) {
            float t = (float) temperature;
            for (int i = 0; i < scores.length; i++) {
                scores[i] = scores[i] / t;
            }
        }
    }

    /** Keeps the scores ≥ the k-th largest (ties with it all stay), k at least min_tokens_to_keep. */
    record TopK(int topK, int minTokensToKeep) implements LogitsProcessor {
        public TopK {
            if (topK <= 0) {
                throw new GenerationException("top_k has to be a strictly positive integer, but is " + topK);
            }
        }

        @Override
        public void process(long[] ids, int length, float[] scores) {
            int k = Math.min(Math.max(topK, minTokensToKeep), scores.length);
            float kth = kthLargest(scores, k);
            for (int i = 0; i < scores.length; i++) {
                if (scores[i] < kth) {
                    scores[i] = NEG_INF;
                }
            }
        }
    }

    /**
     * Nucleus: sort ascending, cumulative softmax (float32), remove where it is ≤ 1 − top_p, keeping the last
     * min_tokens_to_keep (the top token always stays).
     */
    record TopP(double topP, int minTokensToKeep) implements LogitsProcessor {
        public TopP {
            if (!(topP >= 0 && topP <= 1)) {
                throw new GenerationException("top_p has to be a float > 0 and < 1, but is " + topP);
            }
        }

        @Override
        public void process(long[] ids, int length, float[] scores) {
            int[] order = argsortAscending(scores);
            float[] sorted = new float[order.length];
            for (int r = 0; r < order.length; r++) {
                sorted[r] = scores[order[r]];
            }
            float[] probs = softmax(sorted);
            float cumulative = 0;
            float limit = (float) (1 - topP);
            for (int r = 0; r < order.length - minTokensToKeep; r++) {
                cumulative += probs[r];
                if (cumulative <= limit) {
                    scores[order[r]] = NEG_INF;
                }
            }
        }
    }

    /** Typical decoding: keeps the tokens whose surprise is closest to the entropy, up to probability mass. */
    record Typical(double mass, int minTokensToKeep) implements LogitsProcessor {
        public Typical {
            if (!(mass > 0 && mass < 1)) {
                throw new GenerationException("typical_p has to be a float > 0 and < 1, but is " + mass);
            }
        }

        @Override
        public void process(long[] ids, int length, float[] scores) {
            float[] logp = scores.clone();
            logSoftmax(logp);
            double entropy = 0;   // −Σ p·log p, NaN terms (p = 0) skipped as nansum does
            for (float l : logp) {
                double t = Math.exp(l) * l;
                if (!Double.isNaN(t)) {
                    entropy -= t;
                }
            }
            float ent = (float) entropy;
            float[] shifted = new float[scores.length];
            for (int i = 0; i < shifted.length; i++) {
                shifted[i] = Math.abs(-logp[i] - ent);
            }
            int[] order = argsortAscending(shifted);
            float[] sortedLogits = new float[order.length];
            for (int r = 0; r < order.length; r++) {
                sortedLogits[r] = scores[order[r]];
            }
            float[] probs = softmax(sortedLogits);
            float cumulative = 0;
            int lastInd = 0;
            for (float p : probs) {
                cumulative += p;
                if (cumulative < mass) {
                    lastInd++;
                }
            }
            float threshold = shifted[order[Math.min(lastInd, order.length - 1)]];
            for (int r = minTokensToKeep; r < order.length; r++) {
                if (shifted[order[r]] > threshold) {
                    scores[order[r]] = NEG_INF;
                }
            }
        }
    }

    /** Removes tokens with probability &lt; epsilon (keeping the top min_tokens_to_keep). */
    record Epsilon(double epsilon, int minTokensToKeep) implements LogitsProcessor {
        public Epsilon {
            if (!(epsilon > 0 && epsilon < 1)) {
                throw new GenerationException("epsilon_cutoff has to be a float > 0 and < 1, but is " + epsilon);
            }
        }

        @Override
        public void process(long[] ids, int length, float[] scores) {
            removeBelow(scores, softmax(scores), (float) epsilon, minTokensToKeep);
        }
    }

    /** Removes tokens with probability &lt; min(ε, √ε·e^(−entropy)) (keeping the top min_tokens_to_keep). */
    record Eta(double epsilon, int minTokensToKeep) implements LogitsProcessor {
        public Eta {
            if (!(epsilon > 0 && epsilon < 1)) {
                throw new GenerationException("eta_cutoff has to be a float > 0 and < 1, but is " + epsilon);
            }
        }

        @Override
        public void process(long[] ids, int length, float[] scores) {
            float[] probs = softmax(scores);
            float[] logp = scores.clone();
            logSoftmax(logp);
            double entropy = 0;
            for (int i = 0; i < logp.length; i++) {
                if (probs[i] > 0) {
                    entropy -= (double) probs[i] * logp[i];
                }
            }
            float eps = (float) epsilon;
            float eta = Math.min(eps, (float) (Math.sqrt(eps) * Math.exp(-entropy)));
            removeBelow(scores, probs, eta, minTokensToKeep);
        }
    }

    // ---------------------------------------------------------------- helpers (float32, as HF computes)

    private static void removeBelow(float[] scores, float[] probs, float threshold, int keep) {
        float kth = kthLargest(scores, Math.min(keep, scores.length));
        for (int i = 0; i < scores.length; i++) {
            if (probs[i] < threshold && scores[i] < kth) {
                scores[i] = NEG_INF;
            }
        }
    }

    static float kthLargest(float[] scores, int k) {
        float[] sorted = scores.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length - k];
    }

    /** Indices that sort {@code values} ascending (stable). */
    static int[] argsortAscending(float[] values) {
        Integer[] order = new Integer[values.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(values[a], values[b]));
        int[] out = new int[order.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = order[i];
        }
        return out;
    }

    /** softmax in float32 (exp(x − max) / Σ), −∞ → 0. */
    static float[] softmax(float[] x) {
        float max = NEG_INF;
        for (float v : x) {
            max = Math.max(max, v);
        }
        float[] p = new float[x.length];
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            p[i] = (float) Math.exp(x[i] - max);
            sum += p[i];
        }
        float s = (float) sum;
        for (int i = 0; i < p.length; i++) {
            p[i] = p[i] / s;
        }
        return p;
    }

    /** log_softmax in place: x − max − log Σ exp(x − max). */
    static void logSoftmax(float[] x) {
        float max = NEG_INF;
        for (float v : x) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : x) {
            sum += Math.exp(v - max);
        }
        float logSum = (float) Math.log(sum);
        for (int i = 0; i < x.length; i++) {
            x[i] = x[i] - max - logSum;
        }
    }
}
