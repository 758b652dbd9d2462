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
    /** Whole-word masking: continuation[id] is true for a token that continues the previous word ("##ing"). */
    private boolean[] continuation;

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

    /**
     * Hugging Face's {@code DataCollatorForWholeWordMask}: whole words are chosen (in random order, until 15% of
     * the row's tokens, at most 512, are covered), then every token of a chosen word gets the 80/10/10 treatment.
     * {@code continuation[id]} marks WordPiece's "##" tokens.
     */
    public DataCollatorForLanguageModeling wholeWordMask(boolean[] continuation) {
        if (!mlm) {
            throw new JformersException("whole-word masking is for masked-LM training");
        }
        this.continuation = continuation.clone();
        return this;
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
            boolean[] chosen = continuation == null ? null : wholeWords(row, special, random);
            for (int j = 0; j < row.size(); j++) {
                int k = i * t + j;
                long id = row.get(j).asLong();
                ids[k] = id;
                mask[k] = 1;
                if (!mlm) {
                    labels[k] = id;
                    continue;
                }
                if (chosen != null ? !chosen[j] : isSpecial(row, special, j) || random.nextDouble() >= mlmProbability) {
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

    private boolean isSpecial(JsonNode row, JsonNode special, int j) {
        return special != null ? special.get(j).asInt() == 1
                : java.util.Arrays.binarySearch(specialIds, row.get(j).asInt()) >= 0;
    }

    /** The tokens of whole words chosen to cover mlm_probability of the row (HF's _whole_word_mask). */
    private boolean[] wholeWords(JsonNode row, JsonNode special, Random random) {
        List<List<Integer>> words = new java.util.ArrayList<>();
        for (int j = 0; j < row.size(); j++) {
            if (isSpecial(row, special, j)) {
                continue;
            }
            int id = row.get(j).asInt();
            boolean continues = id >= 0 && id < continuation.length && continuation[id];
            if (continues && !words.isEmpty() && words.getLast().getLast() == j - 1) {
                words.getLast().add(j);
            } else {
                words.add(new java.util.ArrayList<>(List.of(j)));
            }
        }
        java.util.Collections.shuffle(words, random);
        int toPredict = Math.min(512, Math.max(1, (int) Math.round(row.size() * mlmProbability)));
        boolean[] chosen = new boolean[row.size()];
        int covered = 0;
        for (List<Integer> word : words) {
            if (covered + word.size() > toPredict) {
                continue;
            }
            word.forEach(j -> chosen[j] = true);
            covered += word.size();
        }
        return chosen;
    }
}
