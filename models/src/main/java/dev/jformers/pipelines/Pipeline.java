package dev.jformers.pipelines;

import dev.jformers.core.Tensor;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.tokenizers.EncodeOptions;
import dev.jformers.tokenizers.Encoding;
import dev.jformers.tokenizers.Tokenizer;
import dev.jformers.tokenizers.TruncationStrategy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;

/**
 * What every pipeline has: a tokenizer, a model and the folder they came from (HF's {@code Pipeline}).
 *
 * <p>A single text runs alone, unpadded. A list of texts runs {@link #batchSize()} texts per forward pass,
 * texts of similar length together, padded on the right and masked, so each text's numbers equal those of a
 * pass over it alone (to float rounding); every pipeline but text-generation batches this way. A pipeline is
 * thread-safe; close it to release its model and the backend created for it (a backend passed in by the caller stays
 * open).
 */
public abstract class Pipeline implements AutoCloseable {
    private final String task;
    private final Path modelDir;
    private final PreTrainedModel model;
    private final Tokenizer tokenizer;

    Pipeline(String task, Path modelDir, PreTrainedModel model, Tokenizer tokenizer) {
        this.task = task;
        this.modelDir = modelDir;
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /** The canonical task name, e.g. "text-classification" (aliases resolved). */
    public String task() {
        return task;
    }

    /** The local model folder. */
    public Path modelDir() {
        return modelDir;
    }

    public PreTrainedModel model() {
        return model;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** One forward pass over one encoding (batch of 1). */
    ModelOutput forward(Encoding enc) {
        return forward(enc.ids(), enc.attentionMask(), enc.typeIds());
    }

    /** One forward pass over one row of ids, attention mask and token types. */
    ModelOutput forward(int[] ids, int[] attentionMask, int[] typeIds) {
        ModelInput in = ModelInput.of(new long[][] {toLongs(ids)}).withAttentionMask(new long[][] {toLongs(attentionMask)});
        // HF feeds token_type_ids only where the tokenizer lists them as a model input (BERT's does;
        // RoBERTa's, DistilBERT's and GPT-2's do not).
        if (typeIds != null && "bert".equals(model.config().modelType())) {
            in = in.withTokenTypeIds(new long[][] {toLongs(typeIds)});
        }
        return model.forward(in);
    }

    /** Texts per forward pass in list calls when none is set: enough rows to keep the CPU's matrix kernels busy. */
    public static final int DEFAULT_BATCH_SIZE = 16;

    private volatile int batchSize = DEFAULT_BATCH_SIZE;

    /** How many texts a list call runs in one forward pass (HF's {@code batch_size}). */
    public int batchSize() {
        return batchSize;
    }

    /**
     * Sets HF's {@code batch_size} for list calls; 1 runs every text alone, unpadded. Results do not depend on it
     * (beyond float rounding): padding is masked out.
     */
    public void setBatchSize(int batchSize) {
        if (batchSize < 1) {
            throw new PipelineException("batch_size must be at least 1, got " + batchSize);
        }
        this.batchSize = batchSize;
    }

    /** Reads one text's result from the output of the batch it ran in. */
    interface RowReader<R> {
        /**
         * @param batch the batch's output (rows padded on the right to the batch's longest text)
         * @param row   this text's row in it
         * @param enc   this text's encoding (its length says where its padding starts)
         */
        R read(ModelOutput batch, int row, Encoding enc);
    }

    /**
     * Runs the model over every encoding, {@link #batchSize()} at a time, and returns {@code reader}'s result for
     * each, in input order. Texts are grouped by length (sorted, then cut into batches) to cut padding; each batch
     * is padded on the right with attention mask 0, so a text's outputs equal those of a pass over it alone.
     */
    final <R> List<R> forwardEach(List<Encoding> encodings, RowReader<R> reader) {
        Integer[] order = new Integer[encodings.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt(i -> encodings.get(i).length()));
        List<R> results = new ArrayList<>(Collections.nCopies(order.length, null));
        int size = batchSize;
        int pad = Math.max(0, tokenizer.padTokenId());
        for (int from = 0; from < order.length; from += size) {
            List<Encoding> batch = new ArrayList<>();
            for (int k = from; k < Math.min(order.length, from + size); k++) {
                batch.add(encodings.get(order[k]));
            }
            ModelInput in = ModelInput.of(batch, pad);
            if (!"bert".equals(model.config().modelType())) {
                in = in.withTokenTypeIds((Tensor) null);   // as in forward(): HF feeds them to BERT only
            }
            ModelOutput out = model.forward(in);
            for (int r = 0; r < batch.size(); r++) {
                results.set(order[from + r], reader.read(out, r, batch.get(r)));
            }
        }
        return results;
    }

    /** HF's {@code truncation=True}: cut at model_max_length when the tokenizer has one. */
    Integer truncationLength() {
        int max = tokenizer.modelMaxLength();
        return max > 0 && max < Integer.MAX_VALUE ? max : null;
    }

    private volatile Boolean truncation;
    private volatile Integer maxLength;

    /**
     * HF's tokenizer keyword arguments {@code truncation} and {@code max_length} for every text this pipeline
     * encodes (fill-mask's {@code tokenizer_kwargs}, text-classification's and feature-extraction's keywords; the
     * window length of token-classification). As in HF: {@code truncation=true} cuts at {@code maxLength}, or at
     * the model's maximum length when null; a {@code maxLength} alone also cuts (longest_first);
     * {@code truncation=false} never cuts. Both null: the pipeline's own default (only token-classification and
     * sentence embeddings cut by default).
     *
     * @param truncation null: not given
     * @param maxLength  null: not given; else at least 1, special tokens included
     */
    public void setTruncation(Boolean truncation, Integer maxLength) {
        if (maxLength != null && maxLength < 1) {
            throw new PipelineException("max_length must be at least 1, got " + maxLength);
        }
        this.truncation = truncation;
        this.maxLength = maxLength;
    }

    /**
     * Where this pipeline cuts texts, in tokens, special tokens included: as {@link #setTruncation} says, else
     * {@code defaultLength} (null: no cut).
     */
    Integer cutLength(Integer defaultLength) {
        Boolean t = truncation;
        Integer m = maxLength;
        if (Boolean.FALSE.equals(t)) {
            return null;
        }
        if (m != null) {
            return m;
        }
        return Boolean.TRUE.equals(t) ? truncationLength() : defaultLength;
    }

    /** Encoding options that cut at {@code cutLength(defaultLength)} (HF's longest_first), if anywhere. */
    EncodeOptions encodeOptions(Integer defaultLength) {
        Integer max = cutLength(defaultLength);
        EncodeOptions eo = EncodeOptions.defaults();
        return max == null ? eo : eo.withMaxLength(max).withTruncation(TruncationStrategy.LONGEST_FIRST);
    }

    static long[] toLongs(int[] a) {
        long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i];
        }
        return out;
    }

    /** Closes the model (and with it the backend it created; a backend passed in by the caller stays open). */
    @Override
    public void close() {
        model.close();
        tokenizer.close();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + model.modelClass() + " from " + modelDir + "]";
    }
}
