package dev.jformers.spark;

import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.pipelines.Pipeline;
import dev.jformers.tokenizers.EncodeOptions;
import dev.jformers.tokenizers.Encoding;
import dev.jformers.tokenizers.TruncationStrategy;
import org.apache.spark.sql.types.DataType;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What a stage computes for a text, without the model: the settings travel to the executors with the task, the
 * model is taken there from {@link ExecutorModels}. {@link #apply} runs a list of texts in batches sorted by length
 * (less padding) and returns the results in the texts' order.
 */
abstract class TextFunction implements Serializable {
    private static final long serialVersionUID = 1L;

    final ExecutorModels.Key key;
    /** Where texts are cut, in tokens; 0: where the pipeline cuts them. */
    final int maxLength;

    TextFunction(ExecutorModels.Key key, int maxLength) {
        this.key = key;
        this.maxLength = maxLength;
    }

    /** The Spark type of one result. */
    abstract DataType outputType();

    /** The pipeline's own cut for this task (null: none known); by default the model's maximum length. */
    Integer defaultMaxLength(Pipeline p) {
        int max = p.tokenizer().modelMaxLength();
        return max > 0 && max < Integer.MAX_VALUE ? max : null;
    }

    /** One text's result from its encoding and row {@code row} of a batch's output. */
    abstract Object result(Pipeline p, String text, Encoding enc, ModelOutput out, int row);

    /** Results of {@link #apply}: one per text (null for a null text), and how many texts were cut. */
    record Results(Object[] values, int truncated) {
    }

    /** Runs {@code texts} (nulls allowed: their result is null) through the model in batches of {@code batchSize}. */
    Results apply(List<String> texts, int batchSize) {
        Pipeline p = ExecutorModels.get(key);
        Integer cut = defaultMaxLength(p);
        if (maxLength > 0) {
            cut = cut == null ? maxLength : Math.min(cut, maxLength);
        }
        Encoding[] encodings = new Encoding[texts.size()];
        List<Integer> order = new ArrayList<>();
        int truncated = 0;
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            if (text == null) {
                continue;
            }
            encodings[i] = encode(p, text, cut);
            if (cut != null && encodings[i].length() == cut && p.tokenizer().encode(text).length() > cut) {
                truncated++;   // only a text that reaches the cut is encoded again to see whether it was longer
            }
            order.add(i);
        }
        // Batches of similar lengths: a short text is not padded to a long one's length.
        order.sort(Comparator.comparingInt(i -> encodings[i].length()));
        Object[] values = new Object[texts.size()];
        for (int from = 0; from < order.size(); from += batchSize) {
            List<Integer> batch = order.subList(from, Math.min(order.size(), from + batchSize));
            List<Encoding> rows = new ArrayList<>(batch.size());
            batch.forEach(i -> rows.add(encodings[i]));
            ModelOutput out = forward(p, rows);
            for (int r = 0; r < batch.size(); r++) {
                int i = batch.get(r);
                values[i] = result(p, texts.get(i), encodings[i], out, r);
            }
        }
        return new Results(values, truncated);
    }

    private static Encoding encode(Pipeline p, String text, Integer cut) {
        EncodeOptions eo = EncodeOptions.defaults();
        if (cut != null) {
            eo = eo.withMaxLength(cut).withTruncation(TruncationStrategy.LONGEST_FIRST);
        }
        return p.tokenizer().encode(text, eo);
    }

    /**
     * One forward pass over a batch: rows padded on the right with the pad token to the longest, masked where
     * padded. Token types go in only for BERT, as the pipelines do (HF's tokenizers list them only there).
     */
    static ModelOutput forward(Pipeline p, List<Encoding> rows) {
        int t = rows.stream().mapToInt(Encoding::length).max().orElse(0);
        int pad = Math.max(0, p.tokenizer().padTokenId());
        long[][] ids = new long[rows.size()][t];
        long[][] mask = new long[rows.size()][t];
        long[][] types = new long[rows.size()][t];
        for (int b = 0; b < rows.size(); b++) {
            Encoding e = rows.get(b);
            int[] eIds = e.ids();
            int[] eMask = e.attentionMask();
            int[] eTypes = e.typeIds();
            for (int j = 0; j < t; j++) {
                boolean real = j < eIds.length;
                ids[b][j] = real ? eIds[j] : pad;
                mask[b][j] = real ? eMask[j] : 0;
                types[b][j] = real && eTypes != null ? eTypes[j] : 0;
            }
        }
        ModelInput in = ModelInput.of(ids).withAttentionMask(mask);
        if ("bert".equals(p.model().config().modelType())) {
            in = in.withTokenTypeIds(types);
        }
        return p.model().forward(in);
    }
}
