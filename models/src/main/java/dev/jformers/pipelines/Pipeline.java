package dev.jformers.pipelines;

import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.tokenizers.Encoding;
import dev.jformers.tokenizers.Tokenizer;

import java.nio.file.Path;

/**
 * What every pipeline has: a tokenizer, a model and the folder they came from (HF's {@code Pipeline}).
 *
 * <p>Texts are run one at a time, unpadded, as HF's pipelines do with their default batch size of 1, so the
 * numbers are exactly those of a single forward pass. A pipeline is thread-safe; close it to release its
 * model and the backend created for it (a backend passed in by the caller stays open).
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

    /** HF's {@code truncation=True}: cut at model_max_length when the tokenizer has one. */
    Integer truncationLength() {
        int max = tokenizer.modelMaxLength();
        return max > 0 && max < Integer.MAX_VALUE ? max : null;
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
