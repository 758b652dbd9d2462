package dev.jformers.models.bert;

import dev.jformers.models.nn.Dropout;
import dev.jformers.core.Backend;
import dev.jformers.core.DType;
import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.Tensors;
import dev.jformers.models.nn.Embedding;
import dev.jformers.models.nn.LayerNorm;

/**
 * Token + position + token-type embeddings, then LayerNorm (HF {@code BertEmbeddings},
 * {@code RobertaEmbeddings}). The two differ only in position ids: BERT counts 0..T−1 in every
 * row; RoBERTa counts real tokens from pad+1 and gives padding the position pad.
 */
public final class BertEmbeddings {
    private final BertConfig config;
    private final Backend backend;
    private final Embedding wordEmbeddings;
    private final Embedding positionEmbeddings;
    private final Embedding tokenTypeEmbeddings;
    private final LayerNorm layerNorm;
    private final Dropout dropout;

    public BertEmbeddings(BertConfig config, ModelWeights w) {
        this.config = config;
        this.backend = w.backend();
        int c = config.hiddenSize();
        Integer pad = config.common().padTokenId();   // padding_idx: that row gets no gradient in training
        wordEmbeddings = new Embedding(w, "word_embeddings", config.vocabSize(), c, pad);
        positionEmbeddings = new Embedding(w, "position_embeddings", config.maxPositionEmbeddings(), c,
                config.isRoberta() ? pad : null);
        tokenTypeEmbeddings = new Embedding(w, "token_type_embeddings", config.typeVocabSize(), c);
        layerNorm = new LayerNorm(w, "LayerNorm", c, config.layerNormEps());
        dropout = Dropout.of(backend, config.common(), 0.1, "hidden_dropout_prob");
        w.ignore("position_ids");
    }

    /** input ids, token types [B, T] (types may be null: all 0), position ids [B, T] or null → [B, T, C]. */
    public Tensor forward(Tensor inputIds, Tensor tokenTypeIds, Tensor positionIds) {
        int batch = inputIds.dim(0), tokens = inputIds.dim(1);
        if (positionIds == null) {
            positionIds = config.isRoberta()
                    ? robertaPositionIds(inputIds, config.common().padTokenId())
                    : Tensors.arange(0, tokens);          // [T], broadcast over the batch
        }
        checkPositions(positionIds);
        if (tokenTypeIds == null) {
            tokenTypeIds = Tensor.zeros(DType.I64, batch, tokens);
        }
        // Each intermediate is handed back as soon as it is read (a backend that recycles arrays serves the next
        // outputs from them): five [B, T, C] arrays a forward that were otherwise allocated afresh (zeroed, cold). Not a
        // Scope: at its end all five are handed back at once, past what the pool keeps per length with the layers'
        // own outputs — e5-small-v2 b1×s128 then allocated 0.9 MB a forward against 0.3 with these early hand-backs.
        Tensor words = wordEmbeddings.forward(inputIds), types = tokenTypeEmbeddings.forward(tokenTypeIds);
        Tensor x = backend.add(words, types);                                          // [B, T, C]
        backend.recycle(words);
        backend.recycle(types);
        Tensor positions = positionEmbeddings.forward(positionIds);
        Tensor sum = backend.add(x, positions);                                        // + [T, C] or [B, T, C]
        backend.recycle(x);
        backend.recycle(positions);
        Tensor normed = layerNorm.forward(sum);
        backend.recycle(sum);
        return dropout.forward(normed);
    }

    /**
     * Position ids of new tokens after {@code past} cached ones, as HF's decoders make them: BERT
     * past..past+T−1 (left padding counted); RoBERTa (cumsum(id ≠ pad) + past)·(id ≠ pad) + pad, so a
     * left-padded row's first generated token jumps to past + pad + 1.
     */
    public Tensor decoderPositionIds(Tensor inputIds, int past) {
        return config.isRoberta()
                ? robertaPositionIds(inputIds, config.common().padTokenId(), past)
                : Tensors.arange(past, inputIds.dim(1));
    }

    /** The longest sequence the position embeddings hold. */
    public int maxPositions() {
        int pad = config.common().padTokenId() == null ? 1 : config.common().padTokenId();
        return config.isRoberta() ? config.maxPositionEmbeddings() - pad - 1 : config.maxPositionEmbeddings();
    }

    static Tensor robertaPositionIds(Tensor inputIds, Integer padId) {
        return robertaPositionIds(inputIds, padId, 0);
    }

    /** RoBERTa: position = (cumsum(id ≠ pad) + past)·(id ≠ pad) + pad, so real tokens start at pad+1. */
    static Tensor robertaPositionIds(Tensor inputIds, Integer padId, int past) {
        int pad = padId == null ? 1 : padId;
        int batch = inputIds.dim(0), tokens = inputIds.dim(1);
        long[] ids = inputIds.toLongArray();
        long[] pos = new long[ids.length];
        for (int b = 0; b < batch; b++) {
            long count = 0;
            for (int t = 0; t < tokens; t++) {
                int i = b * tokens + t;
                boolean real = ids[i] != pad;
                count += real ? 1 : 0;
                pos[i] = real ? count + past + pad : pad;
            }
        }
        return Tensor.ofLongs(pos, batch, tokens);
    }

    private void checkPositions(Tensor positionIds) {
        int max = config.maxPositionEmbeddings();
        for (long p : positionIds.toLongArray()) {
            if (p < 0 || p >= max) {
                throw new JformersException("position id " + p + " is outside the model's " + max
                        + " position embeddings (input too long: truncate it to the model's maximum length)");
            }
        }
    }

    public Embedding wordEmbeddings() {
        return wordEmbeddings;
    }
}
