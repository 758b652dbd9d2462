package dev.jformers.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;
import dev.jformers.models.Labels;
import dev.jformers.models.ModelInput;

import java.util.List;
import java.util.Random;

/**
 * Hugging Face's {@code DataCollatorForLanguageModeling}. Rows are padded on the right to the longest of the
 * batch. With {@code mlm}: each token that is not special (its {@code special_tokens_mask} is 1, or its id is
 * one of the special ids) nor padding is chosen with probability {@code mlmProbability}; a chosen token keeps
 * its id as the label and its input becomes the mask token (80%), a random token of the vocabulary (10%) or
 * stays (10%); every other label is −100. Without mlm (causal LM): labels = input_ids, −100 on padding (the
 * model shifts them).
 */
public final class DataCollatorForLanguageModeling implements DataCollator {
    private final boolean mlm;
    private final double mlmProbability;
    private final int padTokenId, maskTokenId, vocabSize;
    private final int[] specialIds;

    public DataCollatorForLanguageModeling(boolean mlm, double mlmProbability, int padTokenId, int maskTokenId,
                                           int vocabSize, int[] specialIds) {
        if (mlm && !(mlmProbability > 0 && mlmProbability < 1)) {
            throw new JformersException("mlm_probability must be in (0, 1), got " + mlmProbability);
        }
        if (mlm && maskTokenId < 0) {
            throw new JformersException("masked-LM training needs a tokenizer with a mask token");
        }
        this.mlm = mlm;
        this.mlmProbability = mlmProbability;
        this.padTokenId = padTokenId;
        this.maskTokenId = maskTokenId;
        this.vocabSize = vocabSize;
        this.specialIds = specialIds.clone();
        java.util.Arrays.sort(this.specialIds);
    }

    @Override
    public Batch collate(List<ObjectNode> rows, Random random) {
        int b = rows.size(), t = 0;
        for (ObjectNode r : rows) {
            t = Math.max(t, r.path("input_ids").size());
        }
        long[] ids = new long[b * t], mask = new long[b * t], labels = new long[b * t];
        java.util.Arrays.fill(ids, padTokenId);
        java.util.Arrays.fill(labels, Labels.IGNORE_INDEX);
        for (int i = 0; i < b; i++) {
            JsonNode row = rows.get(i).get("input_ids"), special = rows.get(i).get("special_tokens_mask");
            if (row == null) {
                throw new JformersException("row " + i + " of the batch has no input_ids");
            }
            for (int j = 0; j < row.size(); j++) {
                int k = i * t + j;
                long id = row.get(j).asLong();
                ids[k] = id;
                mask[k] = 1;
                if (!mlm) {
                    labels[k] = id;
                    continue;
                }
                boolean isSpecial = special != null ? special.get(j).asInt() == 1
                        : java.util.Arrays.binarySearch(specialIds, (int) id) >= 0;
                if (isSpecial || random.nextDouble() >= mlmProbability) {
                    continue;
                }
                labels[k] = id;
                double r = random.nextDouble();
                if (r < 0.8) {
                    ids[k] = maskTokenId;
                } else if (r < 0.9) {
                    ids[k] = random.nextInt(vocabSize);
                }
            }
        }
        ModelInput in = ModelInput.of(Tensor.ofLongs(ids, b, t)).withAttentionMask(Tensor.ofLongs(mask, b, t));
        return new Batch(in, Labels.of(Tensor.ofLongs(labels, b, t)), b);
    }
}
