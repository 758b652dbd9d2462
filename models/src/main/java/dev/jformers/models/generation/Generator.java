package dev.jformers.models.generation;

import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;
import dev.jformers.models.gpt2.GPT2LMHeadModel;
import dev.jformers.models.gpt2.KVCache;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * HF's {@code generate} for GPT-2 (greedy or sampling, no beams), with a KV cache: the prompt is
 * run once, then one token per step. Batches may be left-padded: position ids then come from
 * the attention mask (cumsum(mask) − 1, padding at 1) as HF computes them, and every new token
 * extends the mask with 1. A row that produced eos continues with the pad id until all are done.
 */
public final class Generator {
    private final GPT2LMHeadModel model;

    /** Called after every step with the new token of each row. */
    @FunctionalInterface
    public interface TokenListener {
        void onStep(int step, long[] newTokens);
    }

    public Generator(GPT2LMHeadModel model) {
        this.model = model;
    }

    /** One unpadded prompt. */
    public long[] generate(long[] prompt, GenerationConfig config, TokenListener listener) {
        long[] mask = new long[prompt.length];
        Arrays.fill(mask, 1);
        return generate(new long[][] {prompt}, new long[][] {mask}, config, listener)[0];
    }

    /**
     * @param inputIds      [B][T] prompts, left-padded to one length
     * @param attentionMask [B][T], 1 for tokens, 0 for padding (null: all tokens)
     * @return the prompts followed by the generated ids, [B][T + steps]
     */
    public long[][] generate(long[][] inputIds, long[][] attentionMask, GenerationConfig config, TokenListener listener) {
        int batch = inputIds.length;
        if (batch == 0) {
            return new long[0][];
        }
        int promptLength = inputIds[0].length;
        if (promptLength == 0) {
            throw new JformersException("generate: the prompt is empty (give at least one token, e.g. the bos token)");
        }
        if (attentionMask == null) {
            attentionMask = new long[batch][promptLength];
            for (long[] row : attentionMask) {
                Arrays.fill(row, 1);
            }
        }
        int nPositions = model.config().nPositions();
        int steps = Math.min(config.maxNewTokens(), nPositions - promptLength);
        if (steps < 0) {
            throw new JformersException("generate: the prompt's " + promptLength + " tokens exceed n_positions " + nPositions);
        }
        int total = promptLength + steps;
        long[][] sequences = new long[batch][total];
        long[][] mask = new long[batch][total];
        for (int b = 0; b < batch; b++) {
            if (inputIds[b].length != promptLength || attentionMask[b].length != promptLength) {
                throw new JformersException("generate: row " + b + " has another length than row 0 (pad the batch)");
            }
            System.arraycopy(inputIds[b], 0, sequences[b], 0, promptLength);
            System.arraycopy(attentionMask[b], 0, mask[b], 0, promptLength);
        }
        Integer eos = config.eosTokenId();
        long pad = config.padTokenId() != null ? config.padTokenId() : eos != null ? eos : 0;
        RandomGenerator random = config.seed() != null ? new SplittableRandom(config.seed()) : new SplittableRandom();
        boolean[] finished = new boolean[batch];
        KVCache cache = model.newCache(batch, Math.max(1, total));

        int length = promptLength;
        Tensor stepIds = ids(sequences, 0, promptLength);
        for (int step = 0; step < steps; step++) {
            int newTokens = stepIds.dim(1);
            Tensor maskSoFar = ids(mask, 0, length);
            Tensor positions = positionIds(mask, length - newTokens, newTokens);
            Tensor logits = model.nextTokenLogits(stepIds, maskSoFar, positions, cache);   // [B, vocab]
            long[] next = new long[batch];
            for (int b = 0; b < batch; b++) {
                float[] row = logits.select(0, b).toFloatArray();
                next[b] = finished[b] ? pad : choose(row, sequences[b], length, config, random);
                sequences[b][length] = next[b];
                mask[b][length] = 1;
                if (eos != null && next[b] == eos) {
                    finished[b] = true;
                }
            }
            length++;
            if (listener != null) {
                listener.onStep(step, next);
            }
            if (allTrue(finished)) {
                break;
            }
            stepIds = ids(sequences, length - 1, 1);
        }
        long[][] out = new long[batch][];
        for (int b = 0; b < batch; b++) {
            out[b] = Arrays.copyOf(sequences[b], length);
        }
        return out;
    }

    private static int choose(float[] logits, long[] sequence, int length, GenerationConfig config, RandomGenerator random) {
        LogitsProcessing.repetitionPenalty(logits, sequence, length, config.repetitionPenalty());
        if (!config.doSample()) {
            return LogitsProcessing.argmax(logits);
        }
        LogitsProcessing.temperature(logits, config.temperature());
        LogitsProcessing.topK(logits, config.topK());
        LogitsProcessing.topP(logits, config.topP());
        return LogitsProcessing.sample(logits, random);
    }

    /** Columns [from, from + count) of each row as an I64 tensor [B, count]. */
    private static Tensor ids(long[][] rows, int from, int count) {
        long[] flat = new long[rows.length * count];
        for (int b = 0; b < rows.length; b++) {
            System.arraycopy(rows[b], from, flat, b * count, count);
        }
        return Tensor.ofLongs(flat, rows.length, count);
    }

    /** HF: position = cumsum(mask) − 1, and 1 where the mask is 0; columns [from, from + count). */
    static Tensor positionIds(long[][] mask, int from, int count) {
        long[] flat = new long[mask.length * count];
        for (int b = 0; b < mask.length; b++) {
            long cumulative = 0;
            for (int t = 0; t < from + count; t++) {
                cumulative += mask[b][t];
                if (t >= from) {
                    flat[b * count + t - from] = mask[b][t] == 0 ? 1 : cumulative - 1;
                }
            }
        }
        return Tensor.ofLongs(flat, mask.length, count);
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
