package dev.jformers.models.distilbert;

import dev.jformers.models.nn.Dropout;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.AttentionOutput;
import dev.jformers.core.Backend;
import dev.jformers.core.Tensor;
import dev.jformers.models.EncoderOutput;
import dev.jformers.models.Heads;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.Tensors;
import dev.jformers.models.nn.Embedding;
import dev.jformers.models.nn.LayerNorm;
import dev.jformers.models.nn.Linear;

import java.util.ArrayList;
import java.util.List;

/**
 * HF {@code DistilBertModel}: word + position embeddings (no token types; sinusoidal tables are
 * stored in the checkpoint like learned ones), LayerNorm, then N post-LayerNorm blocks:
 * <pre>
 *   a = sa_layer_norm(x + out_lin(attention(q_lin x, k_lin x, v_lin x)))
 *   y = output_layer_norm(a + lin2(act(lin1(a))))
 * </pre>
 * Output: {@code last_hidden_state} [B, T, dim]. No pooler. Blocks: {@link TransformerBlock}.
 */
public final class DistilBertModel implements PreTrainedModel {
    static final double EPS = 1e-12;  // DistilBERT hard-codes its LayerNorm epsilon

    private final DistilBertConfig config;
    private final Backend backend;
    private final Embedding wordEmbeddings;
    private final Embedding positionEmbeddings;
    private final LayerNorm embeddingsLayerNorm;
    private final List<TransformerBlock> layers = new ArrayList<>();
    private final Dropout dropout;           // after the embeddings

    public DistilBertModel(DistilBertConfig config, ModelWeights w) {
        this.config = config;
        this.backend = w.backend();
        int dim = config.dim();
        ModelWeights emb = w.child("embeddings");
        wordEmbeddings = new Embedding(emb, "word_embeddings", config.vocabSize(), dim, config.common().padTokenId());
        positionEmbeddings = new Embedding(emb, "position_embeddings", config.maxPositionEmbeddings(), dim);
        embeddingsLayerNorm = new LayerNorm(emb, "LayerNorm", dim, EPS);
        emb.ignore("position_ids");
        for (int i = 0; i < config.nLayers(); i++) {
            layers.add(new TransformerBlock(config, w.child("transformer").child("layer", i)));
        }
        dropout = Dropout.of(backend, config.common(), 0.1, "dropout");
    }

    @Override
    public DistilBertConfig config() {
        return config;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    Embedding wordEmbeddings() {
        return wordEmbeddings;
    }

    /** input ids [B, T] → hidden states [B, T, dim]. */
    public EncoderOutput encode(ModelInput in) {
        return encode(in, false);
    }

    /**
     * {@link #encode} for the sentence heads, which read only h[:, 0]: where {@link Heads#firstTokenOnly} allows, the
     * last block computes everything after its keys and values for the first token alone ([B, 1, dim] out).
     */
    public EncoderOutput encodeForFirstToken(ModelInput in) {
        return encode(in, Heads.firstTokenOnly(in));
    }

    private EncoderOutput encode(ModelInput in, boolean firstTokenOnly) {
        in.requireRank2(modelClass());
        int tokens = in.inputIds().dim(1);
        if (tokens > config.maxPositionEmbeddings()) {
            throw new dev.jformers.core.JformersException(tokens + " tokens exceed the model's "
                    + config.maxPositionEmbeddings() + " positions (truncate the input)");
        }
        Tensor positions = in.positionIds() != null ? in.positionIds() : Tensors.arange(0, tokens);
        Tensor words = wordEmbeddings.forward(in.inputIds()), positionRows = positionEmbeddings.forward(positions);
        Tensor sum = backend.add(words, positionRows);                                                        // [B, T, dim]
        backend.recycle(words);   // the intermediates go back as soon as they are read (as BertEmbeddings)
        backend.recycle(positionRows);
        Tensor x = dropout.forward(embeddingsLayerNorm.forward(sum));
        backend.recycle(sum);
        AttentionMask mask = AttentionMask.padding(in.effectiveAttentionMask());
        List<Tensor> hidden = new ArrayList<>();
        List<Tensor> attentions = new ArrayList<>();
        for (TransformerBlock block : layers) {
            if (in.outputHiddenStates()) {
                hidden.add(x);
            }
            AttentionOutput out = firstTokenOnly && block == layers.getLast()
                    ? new AttentionOutput(block.forwardFirstToken(x, mask), null)   // [B, 1, dim]
                    : block.forward(x, mask, in.outputAttentions());
            if (!in.outputHiddenStates()) {
                backend.recycle(x);   // the block's input is dead unless it is returned as a hidden state
            }
            x = out.context();
            if (in.outputAttentions()) {
                attentions.add(out.probs());
            }
        }
        if (in.outputHiddenStates()) {
            hidden.add(x);
        }
        return new EncoderOutput(x, hidden, attentions);
    }

    @Override
    public ModelOutput forward(ModelInput in) {
        EncoderOutput enc = encode(in);
        return enc.addTo(new ModelOutput().put("last_hidden_state", Tensors.host(backend, enc.lastHiddenState())), backend);
    }
}
