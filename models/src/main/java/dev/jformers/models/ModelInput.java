package dev.jformers.models;

import dev.jformers.core.DType;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;
import dev.jformers.tokenizers.Encoding;

import java.util.Arrays;
import java.util.List;

/**
 * What a forward pass takes, named as in Hugging Face: {@code input_ids} [B, T] (or
 * [B, choices, T] for multiple choice), and optionally {@code attention_mask} (1 = token,
 * 0 = padding), {@code token_type_ids} and {@code position_ids} of the same shape. Absent
 * tensors get HF's defaults (mask of ones, token types 0, positions by architecture).
 */
public record ModelInput(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds, Tensor positionIds,
                         boolean outputHiddenStates, boolean outputAttentions) {

    public ModelInput {
        if (inputIds == null) {
            throw new ShapeException("ModelInput: input_ids is required");
        }
        if (inputIds.dtype().isFloatingPoint()) {
            throw new ShapeException("ModelInput: input_ids must be integers, got " + inputIds);
        }
        for (Tensor t : new Tensor[] {attentionMask, tokenTypeIds, positionIds}) {
            if (t != null && !Arrays.equals(t.shape(), inputIds.shape())) {
                throw ShapeException.mismatch("ModelInput", inputIds.shape(), t.shape(),
                        "attention_mask, token_type_ids and position_ids must have the shape of input_ids");
            }
        }
    }

    public static ModelInput of(Tensor inputIds) {
        return new ModelInput(inputIds, null, null, null, false, false);
    }

    /** A batch of rows of equal length. */
    public static ModelInput of(long[][] inputIds) {
        return of(ids(inputIds));
    }

    /**
     * A batch from encodings of equal length, e.g. from {@code tokenizer.encodeBatch(texts, true, true, null)}
     * (padded to the longest): {@code input_ids} and {@code attention_mask} [B, T], and {@code token_type_ids}
     * when some row has a non-zero one (a BERT text pair; HF's GPT-2 and RoBERTa tokenizers don't return them).
     */
    public static ModelInput of(List<Encoding> batch) {
        if (batch.isEmpty()) {
            throw new ShapeException("ModelInput: an empty batch");
        }
        int t = batch.getFirst().length();
        for (int i = 0; i < batch.size(); i++) {
            if (batch.get(i).length() != t) {
                throw new ShapeException("ModelInput: encoding " + i + " has " + batch.get(i).length() + " tokens, encoding 0 has "
                        + t + " (encode them with padding, or use of(batch, padTokenId))");
            }
        }
        return of(batch, 0);
    }

    /**
     * A batch from encodings of any lengths, padded on the right to the longest with {@code padTokenId} and
     * attention mask 0 (HF's {@code padding=True}); token types as in {@link #of(List)}.
     */
    public static ModelInput of(List<Encoding> batch, int padTokenId) {
        if (batch.isEmpty()) {
            throw new ShapeException("ModelInput: an empty batch");
        }
        int t = batch.stream().mapToInt(Encoding::length).max().orElse(0);
        long[][] ids = new long[batch.size()][t];
        long[][] mask = new long[batch.size()][t];
        long[][] types = new long[batch.size()][t];
        boolean anyType = false;
        for (int b = 0; b < batch.size(); b++) {
            Encoding e = batch.get(b);
            int[] eIds = e.ids(), eMask = e.attentionMask(), eTypes = e.typeIds();
            Arrays.fill(ids[b], padTokenId);
            for (int i = 0; i < eIds.length; i++) {
                ids[b][i] = eIds[i];
                mask[b][i] = eMask[i];
                types[b][i] = eTypes[i];
                anyType |= eTypes[i] != 0;
            }
        }
        ModelInput in = of(ids).withAttentionMask(mask);
        return anyType ? in.withTokenTypeIds(types) : in;
    }

    public ModelInput withAttentionMask(Tensor mask) {
        return new ModelInput(inputIds, mask, tokenTypeIds, positionIds, outputHiddenStates, outputAttentions);
    }

    public ModelInput withAttentionMask(long[][] mask) {
        return withAttentionMask(ids(mask));
    }

    public ModelInput withTokenTypeIds(Tensor types) {
        return new ModelInput(inputIds, attentionMask, types, positionIds, outputHiddenStates, outputAttentions);
    }

    public ModelInput withTokenTypeIds(long[][] types) {
        return withTokenTypeIds(ids(types));
    }

    public ModelInput withPositionIds(Tensor positions) {
        return new ModelInput(inputIds, attentionMask, tokenTypeIds, positions, outputHiddenStates, outputAttentions);
    }

    /** Also return {@code hidden_states} and/or {@code attentions}. */
    public ModelInput withOutputs(boolean hiddenStates, boolean attentions) {
        return new ModelInput(inputIds, attentionMask, tokenTypeIds, positionIds, hiddenStates, attentions);
    }

    /** An I64 tensor [rows, cols] from a rectangular array. */
    public static Tensor ids(long[][] rows) {
        int cols = rows.length == 0 ? 0 : rows[0].length;
        long[] flat = new long[rows.length * cols];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].length != cols) {
                throw new ShapeException("ModelInput: row " + i + " has " + rows[i].length + " ids, row 0 has " + cols
                        + " (pad the batch)");
            }
            System.arraycopy(rows[i], 0, flat, i * cols, cols);
        }
        return Tensor.ofLongs(flat, rows.length, cols);
    }

    /** Input ids viewed as [B, T] (multiple-choice inputs [B, C, T] flattened to [B·C, T]). */
    public ModelInput flattenChoices() {
        if (inputIds.rank() != 3) {
            return this;
        }
        int t = inputIds.dim(2);
        return new ModelInput(inputIds.reshape(-1, t), flat(attentionMask, t), flat(tokenTypeIds, t),
                flat(positionIds, t), outputHiddenStates, outputAttentions);
    }

    private static Tensor flat(Tensor x, int t) {
        return x == null ? null : x.reshape(-1, t);
    }

    /** [B, T] with all ids, or a clear error. */
    public void requireRank2(String model) {
        if (inputIds.rank() != 2) {
            throw ShapeException.of(model, "input_ids [batch, tokens]", inputIds.shape());
        }
    }

    /** The attention mask, or null when it is absent or all ones (then no masking is needed). */
    public Tensor effectiveAttentionMask() {
        if (attentionMask == null) {
            return null;
        }
        for (long v : attentionMask.toLongArray()) {
            if (v == 0) {
                return attentionMask;
            }
        }
        return null;
    }

    /** A tensor of zeros like input_ids (default token types). */
    Tensor zerosLikeIds() {
        return Tensor.zeros(DType.I64, inputIds.shape());
    }
}
