package dev.jformers.models.gpt2;

import dev.jformers.models.Heads;
import dev.jformers.models.Losses;
import dev.jformers.models.Labels;
import dev.jformers.core.Backend;
import dev.jformers.core.DType;
import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;
import dev.jformers.models.EncoderOutput;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.Tensors;
import dev.jformers.models.nn.Linear;

import java.lang.foreign.MemorySegment;

/**
 * HF {@code GPT2ForSequenceClassification}: {@code score} [C → labels], no bias, applied to every
 * token; the logits of each row are those of its last non-padding token, found as HF does:
 * (number of ids ≠ pad_token_id) − 1.
 */
public final class GPT2ForSequenceClassification implements PreTrainedModel {
    private final GPT2Model transformer;
    private final Linear score;

    public GPT2ForSequenceClassification(GPT2Config config, ModelWeights w) {
        transformer = new GPT2Model(config, w.child("transformer"));
        score = Linear.load(w, "score", config.nEmbd(), config.common().numLabels(), false);
    }

    @Override
    public GPT2Config config() {
        return transformer.config();
    }

    @Override
    public Backend backend() {
        return transformer.backend();
    }

    @Override
    public ModelOutput forward(ModelInput in) {
        return forward(in, null);
    }

    /** With labels the output also holds {@code loss} (by problem_type, as the encoders' classifiers). */
    @Override
    public ModelOutput forward(ModelInput in, Labels targets) {
        EncoderOutput enc = transformer.transform(in);
        Tensor all = score.forward(enc.lastHiddenState());                               // [B, T, labels]
        int batch = all.dim(0), tokens = all.dim(1), labels = all.dim(2);
        Integer pad = config().common().padTokenId();
        if (pad == null && batch > 1) {
            throw new JformersException("GPT2ForSequenceClassification: batches need pad_token_id in config.json");
        }
        long[] ids = in.inputIds().toLongArray();
        long[] lastTokens = new long[batch];                                             // row of [B·T] per sequence
        for (int b = 0; b < batch; b++) {
            int last = tokens - 1;
            if (pad != null) {
                int count = 0;
                for (int t = 0; t < tokens; t++) {
                    count += ids[b * tokens + t] != pad ? 1 : 0;
                }
                last = Math.floorMod(count - 1, tokens);   // HF indexes with -1 when a row is all padding
            }
            lastTokens[b] = (long) b * tokens + last;
        }
        Tensor logits = backend().gatherRows(all.reshape(-1, labels), lastTokens);      // [B, labels]
        Tensor loss = Losses.sequenceClassification(backend(), config().common(), logits,
                targets == null ? null : targets.labels());
        return Heads.withLoss(enc.addTo(new ModelOutput().put("logits", Tensors.host(backend(), logits)), backend()), loss);
    }
}
