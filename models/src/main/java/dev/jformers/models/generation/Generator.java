package dev.jformers.models.generation;

import dev.jformers.core.Tensor;
import dev.jformers.models.CausalLM;
import dev.jformers.models.KVCache;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.random.RandomGenerator;

/**
 * HF's {@code generate} (transformers 4.28) for any {@link CausalLM}: greedy search, sampling, beam search and beam
 * sampling, with the logits processors of {@link LogitsProcessor} in HF's order and a KV cache (the prompt runs
 * once, then one token per row and step). Batches may be left-padded; every new token extends the attention mask
 * with 1.
 *
 * <p>Lengths as HF counts them: max_length is the whole row (padded prompt included) unless max_new_tokens is set
 * (then max_length = T + max_new_tokens); the loop appends a token before it checks the length, so a prompt at or
 * beyond max_length still gets one token (beam search then fails in finalize, as HF's does). A row is finished once it
 * produces any id of the eos list; finished rows get pad_token_id (default: the first eos id) until all are done.
 */
public final class Generator {
    private final CausalLM model;

    /** Called after every step with the new token of each row (rows: batch × num_return_sequences, or beams). */
    @FunctionalInterface
    public interface TokenListener {
        void onStep(int step, long[] newTokens);
    }

    /**
     * What {@code generate(..., output_scores=True, return_dict_in_generate=True)} returns.
     *
     * @param sequences       [B·num_return_sequences][L]
     * @param sequencesScores beam search: the hypotheses' scores, best first per prompt; otherwise null
     * @param steps           decoding steps (forward passes)
     */
    public record Output(long[][] sequences, float[] sequencesScores, int steps) {
    }

    public Generator(CausalLM model) {
        this.model = model;
    }

    public CausalLM model() {
        return model;
    }

    /** One unpadded prompt; returns its row (the first one if several sequences were asked for). */
    public long[] generate(long[] prompt, GenerationConfig config, TokenListener listener) {
        return generate(new long[][] {prompt}, null, config, listener)[0];
    }

    /**
     * @param inputIds      [B][T] prompts, left-padded to one length
     * @param attentionMask [B][T], 1 for tokens, 0 for padding (null: HF's default from pad_token_id)
     * @return the prompts followed by the generated ids
     */
    public long[][] generate(long[][] inputIds, long[][] attentionMask, GenerationConfig config, TokenListener listener) {
        return generateOutput(inputIds, attentionMask, config, listener).sequences();
    }

    /** {@link #generate}, with the beam scores. */
    public Output generateOutput(long[][] inputIds, long[][] attentionMask, GenerationConfig config, TokenListener listener) {
        int batch = inputIds.length;
        if (batch == 0) {
            return new Output(new long[0][], null, 0);
        }
        int promptLength = inputIds[0].length;
        if (promptLength == 0) {
            throw new GenerationException("generate: the prompt is empty (give at least one token, e.g. the bos token)");
        }
        for (int b = 0; b < batch; b++) {
            if (inputIds[b].length != promptLength || (attentionMask != null && attentionMask[b].length != promptLength)) {
                throw new GenerationException("generate: row " + b + " has another length than row 0 (pad the batch)");
            }
        }
        // HF: pad_token_id defaults to the (first) eos id
        int[] eos = config.eosTokenIds();
        if (config.padTokenId() == null && eos != null) {
            config = config.withPadTokenId(eos[0]);
        }
        if (attentionMask == null) {
            attentionMask = defaultAttentionMask(inputIds, config.padTokenId(), eos);
        }
        int maxLength = config.maxNewTokens() != null ? promptLength + config.maxNewTokens() : config.maxLength();
        int beams = config.numBeams();
        int sequences = config.numReturnSequences();
        if (beams < 1 || sequences < 1) {
            throw new GenerationException("num_beams and num_return_sequences have to be ≥ 1, got " + beams + " and " + sequences);
        }
        List<LogitsProcessor> processors = LogitsProcessor.processors(config, promptLength, maxLength);
        List<LogitsProcessor> warpers = config.doSample() ? LogitsProcessor.warpers(config) : List.of();
        Run run = new Run(config, promptLength, maxLength, processors, warpers, listener);
        if (beams == 1) {
            if (!config.doSample() && sequences > 1) {
                throw new GenerationException("num_return_sequences has to be 1 when doing greedy search, but is " + sequences + ".");
            }
            return run.search(repeatRows(inputIds, sequences), repeatRows(attentionMask, sequences));
        }
        if (sequences > beams) {
            throw new GenerationException("`num_return_sequences` has to be smaller or equal to `num_beams`.");
        }
        if (config.doSample()) {
            // HF's beam_sample: every prompt is repeated num_return_sequences times, each run keeps 1 hypothesis
            return run.beamSearch(repeatRows(inputIds, sequences), repeatRows(attentionMask, sequences), beams, 1);
        }
        return run.beamSearch(inputIds, attentionMask, beams, sequences);
    }

    /** HF: mask = ids ≠ pad when the pad id occurs in the prompts and is not an eos id; all ones otherwise. */
    private static long[][] defaultAttentionMask(long[][] ids, Integer pad, int[] eos) {
        boolean padIsEos = false;
        for (int e : eos == null ? new int[0] : eos) {
            padIsEos |= pad != null && e == pad;
        }
        long[][] mask = new long[ids.length][];
        for (int b = 0; b < ids.length; b++) {
            mask[b] = new long[ids[b].length];
            for (int t = 0; t < mask[b].length; t++) {
                mask[b][t] = pad != null && !padIsEos && ids[b][t] == pad ? 0 : 1;
            }
        }
        return mask;
    }

    /** HF's repeat_interleave over rows. */
    static long[][] repeatRows(long[][] rows, int times) {
        long[][] out = new long[rows.length * times][];
        for (int i = 0; i < out.length; i++) {
            out[i] = rows[i / times].clone();
        }
        return out;
    }

    /** One generate call: the settings every loop reads. */
    private final class Run {
        final GenerationConfig config;
        final int promptLength;
        final int maxLength;
        final List<LogitsProcessor> processors;
        final List<LogitsProcessor> warpers;
        final TokenListener listener;
        final int[] eos;
        final long pad;
        final long deadline;
        final RandomGenerator random;

        Run(GenerationConfig config, int promptLength, int maxLength, List<LogitsProcessor> processors,
            List<LogitsProcessor> warpers, TokenListener listener) {
            this.config = config;
            this.promptLength = promptLength;
            this.maxLength = maxLength;
            this.processors = processors;
            this.warpers = warpers;
            this.listener = listener;
            this.eos = config.eosTokenIds();
            this.pad = config.padTokenId() == null ? 0 : config.padTokenId();
            Double maxTime = config.maxTime();
            this.deadline = maxTime == null ? Long.MAX_VALUE : System.nanoTime() + (long) (maxTime * 1e9);
            this.random = config.seed() != null ? new SplittableRandom(config.seed()) : new SplittableRandom();
        }

        /** HF's stopping criteria: max_length, max_time. */
        boolean stop(int length) {
            return length >= maxLength || System.nanoTime() > deadline;
        }

        boolean isEos(long id) {
            if (eos != null) {
                for (int e : eos) {
                    if (e == id) {
                        return true;
                    }
                }
            }
            return false;
        }

        /** Rows of ids grown to hold {@code width} columns. */
        long[][] widen(long[][] rows, int width) {
            long[][] out = new long[rows.length][];
            for (int b = 0; b < rows.length; b++) {
                out[b] = Arrays.copyOf(rows[b], width);
            }
            return out;
        }

        KVCache cache(int rows) {
            int capacity = Math.min(Math.max(maxLength, promptLength + 1), model.maxPositions());
            return model.newCache(rows, Math.max(capacity, 1));
        }

        /** HF's greedy_search and sample; the cache's memory goes back to the backend at the end. */
        Output search(long[][] inputIds, long[][] attentionMask) {
            return inCache(inputIds.length, cache -> search(inputIds, attentionMask, cache));
        }

        /** Runs a search in a new cache of {@code rows} rows, whose memory goes back to the backend at the end. */
        private Output inCache(int rows, Function<KVCache, Output> search) {
            KVCache cache = cache(rows);
            try {
                return search.apply(cache);
            } finally {
                cache.release();
            }
        }

        /** The search in a cache the caller owns (and releases). */
        Output search(long[][] inputIds, long[][] attentionMask, KVCache cache) {
            int rows = inputIds.length;
            int width = Math.max(maxLength, promptLength + 1);
            long[][] seq = widen(inputIds, width);
            long[][] mask = widen(attentionMask, width);
            boolean[] finished = new boolean[rows];
            int length = promptLength;
            int step = 0;
            Tensor stepIds = ids(seq, 0, promptLength);
            while (true) {
                long[] next = searchStep(stepIds, seq, mask, finished, length, cache);
                length++;
                if (listener != null) {
                    listener.onStep(step, next);
                }
                step++;
                if (allTrue(finished) || stop(length)) {
                    break;
                }
                stepIds = ids(seq, length - 1, 1);
            }
            return new Output(truncate(seq, length), null, step);
        }

        /**
         * One step of {@link #search}: the model's logits for {@code stepIds}, each row's next token (appended to seq
         * and mask at {@code length}), the finished rows marked; returns the new tokens. A method of its own so that
         * the JIT compiles a step after a few generations: the loop around it runs once per generation, and stays
         * interpreted for hundreds of them.
         */
        long[] searchStep(Tensor stepIds, long[][] seq, long[][] mask, boolean[] finished, int length, KVCache cache) {
            int rows = seq.length;
            Tensor logits = model.nextTokenLogits(stepIds, ids(mask, 0, length), cache);   // [rows, vocab]
            long[] next = new long[rows];
            // plain greedy: the argmax read where the logits are (no copy of the vocabulary's scores per step)
            float[] flat = processors.isEmpty() && !config.doSample() && logits.isContiguous() ? logits.floatArray() : null;
            int vocab = logits.dim(1);
            for (int r = 0; r < rows; r++) {
                int token;
                if (flat != null) {
                    token = argmax(flat, (int) logits.arrayOffset() + r * vocab, vocab);
                } else {
                    float[] scores = logits.select(0, r).toFloatArray();
                    LogitsProcessor.applyAll(processors, seq[r], length, scores);
                    if (config.doSample()) {
                        LogitsProcessor.applyAll(warpers, seq[r], length, scores);
                        token = sample(scores, random);
                    } else {
                        token = argmax(scores);
                    }
                }
                next[r] = eos != null && finished[r] ? pad : token;
            }
            // read: the next step's LM head output reuses this array (50 257 floats a row, not allocated every token)
            model.backend().recycle(logits);
            for (int r = 0; r < rows; r++) {
                seq[r][length] = next[r];
                mask[r][length] = 1;
                finished[r] |= isEos(next[r]);
            }
            return next;
        }

        /**
         * HF's beam_search (and beam_sample when sampling): {@code beams} rows per prompt, scored by cumulative
         * log-probabilities; finished hypotheses are kept per prompt by {@link BeamHypotheses}.
         */
        Output beamSearch(long[][] inputIds, long[][] attentionMask, int beams, int keep) {
            return inCache(inputIds.length * beams, cache -> beamSearch(inputIds, attentionMask, beams, keep, cache));
        }

        /** The beam search in a cache the caller owns (and releases). */
        Output beamSearch(long[][] inputIds, long[][] attentionMask, int beams, int keep, KVCache cache) {
            int prompts = inputIds.length;
            int rows = prompts * beams;
            int width = Math.max(maxLength, promptLength + 1);
            long[][] seq = widen(repeatRows(inputIds, beams), width);
            long[][] mask = widen(repeatRows(attentionMask, beams), width);
            float[] beamScores = new float[rows];
            for (int r = 0; r < rows; r++) {
                beamScores[r] = r % beams == 0 ? 0f : -1e9f;
            }
            BeamHypotheses[] hyps = new BeamHypotheses[prompts];
            for (int b = 0; b < prompts; b++) {
                hyps[b] = new BeamHypotheses(beams, config.lengthPenalty(), config.earlyStopping(), maxLength);
            }
            boolean[] done = new boolean[prompts];
            int length = promptLength;
            int step = 0;
            Tensor stepIds = ids(seq, 0, promptLength);
            int vocab = -1;
            while (true) {
                Tensor logits = model.nextTokenLogits(stepIds, ids(mask, 0, length), cache);   // [rows, vocab]
                vocab = logits.dim(1);
                float[][] scores = new float[rows][];
                for (int r = 0; r < rows; r++) {
                    float[] s = logits.select(0, r).toFloatArray();
                    LogitsProcessor.logSoftmax(s);
                    LogitsProcessor.applyAll(processors, seq[r], length, s);
                    for (int v = 0; v < s.length; v++) {
                        s[v] = s[v] + beamScores[r];
                    }
                    if (config.doSample()) {
                        LogitsProcessor.applyAll(warpers, seq[r], length, s);
                    }
                    scores[r] = s;
                }
                model.backend().recycle(logits);   // copied into scores: the next step's LM head output reuses its array
                int[] source = new int[rows];
                long[] next = new long[rows];
                float[] nextScores = new float[rows];
                for (int b = 0; b < prompts; b++) {
                    if (done[b]) {   // HF pads a finished prompt's beams (score 0); they keep their rows here
                        for (int j = 0; j < beams; j++) {
                            int r = b * beams + j;
                            source[r] = r;
                            next[r] = pad;
                            nextScores[r] = 0;
                        }
                        continue;
                    }
                    Candidates c = config.doSample() ? sampleCandidates(scores, b, beams, vocab, random)
                            : topCandidates(scores, b, beams, vocab);
                    int filled = 0;
                    for (int rank = 0; rank < c.size() && filled < beams; rank++) {
                        int row = b * beams + c.beam[rank];
                        if (isEos(c.token[rank])) {
                            if (rank < beams) {   // an eos below the top num_beams is ignored
                                hyps[b].add(Arrays.copyOf(seq[row], length), c.score[rank]);
                            }
                        } else {
                            int r = b * beams + filled++;
                            source[r] = row;
                            next[r] = c.token[rank];
                            nextScores[r] = c.score[rank];
                        }
                    }
                    if (filled < beams) {
                        throw new GenerationException("At most " + beams + " tokens in the candidates can be equal to "
                                + "`eos_token_id`: " + Arrays.toString(eos) + ". Make sure the candidates of the beams "
                                + "contain enough other tokens.");
                    }
                    // HF's is_done: cur_len is the row length after this step
                    done[b] = hyps[b].isDone(c.score[0], length + 1);
                }
                long[][] reordered = new long[rows][];
                for (int r = 0; r < rows; r++) {
                    reordered[r] = source[r] == r ? seq[r] : seq[source[r]].clone();
                }
                for (int r = 0; r < rows; r++) {
                    reordered[r][length] = next[r];
                    mask[r][length] = 1;
                }
                seq = reordered;
                beamScores = nextScores;
                cache.reorder(source);
                length++;
                if (listener != null) {
                    listener.onStep(step, next);
                }
                step++;
                if (allTrue(done) || stop(length)) {
                    break;
                }
                stepIds = ids(seq, length - 1, 1);
            }
            return finalizeBeams(hyps, done, seq, beamScores, length, beams, keep, step);
        }

        /** HF's BeamSearchScorer.finalize. */
        Output finalizeBeams(BeamHypotheses[] hyps, boolean[] done, long[][] seq, float[] beamScores, int length,
                             int beams, int keep, int steps) {
            int prompts = hyps.length;
            for (int b = 0; b < prompts; b++) {
                if (!done[b]) {
                    for (int j = 0; j < beams; j++) {
                        int r = b * beams + j;
                        hyps[b].add(Arrays.copyOf(seq[r], length), beamScores[r]);
                    }
                }
            }
            long[][] best = new long[prompts * keep][];
            float[] scores = new float[prompts * keep];
            int longest = 0;
            int shortest = Integer.MAX_VALUE;
            for (int b = 0; b < prompts; b++) {
                List<BeamHypotheses.Hypothesis> sorted = hyps[b].bestFirst();
                for (int j = 0; j < keep; j++) {
                    BeamHypotheses.Hypothesis h = sorted.get(j);
                    best[b * keep + j] = h.tokens();
                    scores[b * keep + j] = (float) h.score();
                    longest = Math.max(longest, h.tokens().length);
                    shortest = Math.min(shortest, h.tokens().length);
                }
            }
            int outWidth = Math.min(longest + 1, maxLength);
            long[][] out = new long[best.length][];
            for (int i = 0; i < best.length; i++) {
                if (best[i].length > outWidth) {
                    // HF 4.28 fails here too (a prompt longer than max_length): the hypothesis does not fit
                    throw new GenerationException("beam search: a hypothesis of " + best[i].length
                            + " tokens does not fit max_length " + maxLength + " (the prompt is " + promptLength
                            + " tokens; Hugging Face raises a RuntimeError here): raise max_length or use max_new_tokens");
                }
                out[i] = new long[outWidth];
                Arrays.fill(out[i], pad);
                System.arraycopy(best[i], 0, out[i], 0, best[i].length);
                if (best[i].length < outWidth) {
                    if (eos == null) {
                        throw new GenerationException("beam search: hypotheses of different lengths need an eos_token_id");
                    }
                    out[i][best[i].length] = eos[0];   // only the first eos id, whichever ended the hypothesis
                }
            }
            return new Output(out, scores, steps);
        }
    }

    /** The 2·num_beams best (token, beam, score) of one prompt over its beams' scores, best first. */
    private record Candidates(int[] token, int[] beam, float[] score) {
        int size() {
            return token.length;
        }
    }

    /** torch.topk(scores.view(B, beams·V), 2·beams) for prompt {@code b}: ties go to the lower flat index. */
    private static Candidates topCandidates(float[][] scores, int b, int beams, int vocab) {
        int n = Math.min(2 * beams, beams * vocab);
        int[] flat = new int[n];
        float[] best = new float[n];
        Arrays.fill(best, Float.NaN);
        int count = 0;
        for (int j = 0; j < beams; j++) {
            float[] s = scores[b * beams + j];
            for (int v = 0; v < vocab; v++) {
                float x = s[v];
                if (count == n && !(x > best[n - 1])) {
                    continue;
                }
                int pos = count == n ? n - 1 : count++;
                while (pos > 0 && x > best[pos - 1]) {   // insertion: keeps earlier (lower index) entries first on ties
                    best[pos] = best[pos - 1];
                    flat[pos] = flat[pos - 1];
                    pos--;
                }
                best[pos] = x;
                flat[pos] = j * vocab + v;
            }
        }
        int[] token = new int[n];
        int[] beam = new int[n];
        for (int i = 0; i < n; i++) {
            token[i] = flat[i] % vocab;
            beam[i] = flat[i] / vocab;
        }
        return new Candidates(token, beam, best);
    }

    /**
     * HF's beam_sample: 2·num_beams draws without replacement from softmax over the prompt's beams × vocab
     * (jformers' RNG, not PyTorch's), then sorted by score.
     */
    private static Candidates sampleCandidates(float[][] scores, int b, int beams, int vocab, RandomGenerator random) {
        float[] all = new float[beams * vocab];
        for (int j = 0; j < beams; j++) {
            System.arraycopy(scores[b * beams + j], 0, all, j * vocab, vocab);
        }
        float[] probs = LogitsProcessor.softmax(all);
        int n = Math.min(2 * beams, all.length);
        Integer[] picked = new Integer[n];
        for (int i = 0; i < n; i++) {
            double total = 0;
            for (float p : probs) {
                total += p;
            }
            double u = random.nextDouble() * total;
            int choice = -1;
            double cumulative = 0;
            for (int k = 0; k < probs.length; k++) {
                if (probs[k] > 0) {
                    cumulative += probs[k];
                    choice = k;
                    if (u < cumulative) {
                        break;
                    }
                }
            }
            if (choice < 0) {
                throw new GenerationException("beam sampling: fewer than " + n + " tokens have a non-zero probability");
            }
            picked[i] = choice;
            probs[choice] = 0;
        }
        Arrays.sort(picked, (x, y) -> Float.compare(all[y], all[x]));
        int[] token = new int[n];
        int[] beam = new int[n];
        float[] score = new float[n];
        for (int i = 0; i < n; i++) {
            token[i] = picked[i] % vocab;
            beam[i] = picked[i] / vocab;
            score[i] = all[picked[i]];
        }
        return new Candidates(token, beam, score);
    }

    /** The index of the largest score (the first one on ties, like torch.argmax). */
    static int argmax(float[] scores) {
        return argmax(scores, 0, scores.length);
    }

    /** {@link #argmax(float[])} of scores[off, off + n), as an index from off. */
    static int argmax(float[] scores, int off, int n) {
        int best = 0;
        float max = n > 0 ? scores[off] : 0f;
        for (int i = 1; i < n; i++) {
            if (scores[off + i] > max) {
                max = scores[off + i];
                best = i;
            }
        }
        return best;
    }

    /** Draws an index from softmax(scores) (torch.multinomial's role; jformers' RNG). */
    static int sample(float[] scores, RandomGenerator random) {
        float[] p = LogitsProcessor.softmax(scores);
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

    /** Columns [from, from + count) of each row as an I64 tensor [B, count]. */
    private static Tensor ids(long[][] rows, int from, int count) {
        long[] flat = new long[rows.length * count];
        for (int b = 0; b < rows.length; b++) {
            System.arraycopy(rows[b], from, flat, b * count, count);
        }
        return Tensor.ofLongs(flat, rows.length, count);
    }

    private static long[][] truncate(long[][] rows, int length) {
        long[][] out = new long[rows.length][];
        for (int b = 0; b < rows.length; b++) {
            out[b] = Arrays.copyOf(rows[b], length);
        }
        return out;
    }

    private static boolean allTrue(boolean[] values) {
        for (boolean v : values) {
            if (!v) {
                return false;
            }
        }
        return true;
    }
}
