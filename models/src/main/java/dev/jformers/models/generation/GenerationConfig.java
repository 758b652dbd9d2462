package dev.jformers.models.generation;

import dev.jformers.core.JformersException;

/**
 * How {@link Generator} picks tokens, with Hugging Face's {@code GenerationConfig} defaults:
 * greedy unless {@code doSample}; when sampling, temperature 1, top-k 50, top-p 1.
 *
 * @param repetitionPenalty HF's CTRL-style penalty (1 = none)
 * @param seed              random seed for sampling (null: a random one)
 * @param eosTokenId        generation stops for a row once it produces this id (null: never)
 * @param padTokenId        what finished rows get afterwards (null: the eos id, as HF does)
 */
public record GenerationConfig(int maxNewTokens, boolean doSample, double temperature, int topK, double topP,
                               double repetitionPenalty, Long seed, Integer eosTokenId, Integer padTokenId) {

    public GenerationConfig {
        if (maxNewTokens < 0) {
            throw new JformersException("max_new_tokens must be ≥ 0, got " + maxNewTokens);
        }
        if (doSample && !(temperature > 0)) {
            throw new JformersException("temperature must be > 0 when sampling, got " + temperature);
        }
        if (topK < 0) {
            throw new JformersException("top_k must be ≥ 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new JformersException("top_p must be in (0, 1], got " + topP);
        }
        if (!(repetitionPenalty > 0)) {
            throw new JformersException("repetition_penalty must be > 0, got " + repetitionPenalty);
        }
    }

    /** Greedy decoding of {@code maxNewTokens} tokens. */
    public static GenerationConfig greedy(int maxNewTokens, Integer eosTokenId) {
        return new GenerationConfig(maxNewTokens, false, 1.0, 50, 1.0, 1.0, null, eosTokenId, null);
    }

    /** Sampling with HF's defaults (temperature 1, top-k 50, top-p 1). */
    public static GenerationConfig sampling(int maxNewTokens, Integer eosTokenId, Long seed) {
        return new GenerationConfig(maxNewTokens, true, 1.0, 50, 1.0, 1.0, seed, eosTokenId, null);
    }

    public GenerationConfig withSampling(double temperature, int topK, double topP, Long seed) {
        return new GenerationConfig(maxNewTokens, true, temperature, topK, topP, repetitionPenalty, seed, eosTokenId, padTokenId);
    }

    public GenerationConfig withRepetitionPenalty(double penalty) {
        return new GenerationConfig(maxNewTokens, doSample, temperature, topK, topP, penalty, seed, eosTokenId, padTokenId);
    }

    public GenerationConfig withPadTokenId(Integer pad) {
        return new GenerationConfig(maxNewTokens, doSample, temperature, topK, topP, repetitionPenalty, seed, eosTokenId, pad);
    }
}
