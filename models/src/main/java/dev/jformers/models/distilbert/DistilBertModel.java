package dev.jformers.models.distilbert;

import dev.jformers.models.nn.Dropout;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.AttentionOutput;
import dev.jformers.core.Backend;
import dev.jformers.core.Tensor;
import dev.jformers.models.EncoderOutput;
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
 * Output: {@code last_hidden_state} [B, T, dim]. No pooler.
 */
public final class DistilBertModel implements PreTrainedModel {
    private static final double EPS = 1e-12;  // DistilBERT hard-codes its LayerNorm epsilon

    private final DistilBertConfig config;
    private final Backend backend;
    private final Embedding wordEmbeddings;
    private final Embedding positionEmbeddings;
    private final LayerNorm embeddingsLayerNorm;
    private final List<Block> layers = new ArrayList<>();
    private final Dropout dropout;           // embeddings and FFN output
    private final float attentionDropout;    // on the attention weights

    /** One {@code TransformerBlock}. */
    private record Block(Linear qLin, Linear kLin, Linear vLin, Linear outLin, LayerNorm saLayerNorm,
                         Linear lin1, Linear lin2, LayerNorm outputLayerNorm) {
    }

    public DistilBertModel(DistilBertConfig config, ModelWeights w) {
        this.config = config;
        this.backend = w.backend();
        int dim = config.dim(), hidden = config.hiddenDim();
        ModelWeights emb = w.child("embeddings");
        wordEmbeddings = new Embedding(emb, "word_embeddings", config.vocabSize(), dim, config.common().padTokenId());
        positionEmbeddings = new Embedding(emb, "position_embeddings", config.maxPositionEmbeddings(), dim);
        embeddingsLayerNorm = new LayerNorm(emb, "LayerNorm", dim, EPS);
        emb.ignore("position_ids");
        dropout = Dropout.of(backend, config.common(), 0.1, "dropout");
        attentionDropout = Dropout.of(backend, config.common(), 0.1, "attention_dropout").p();
        for (int i = 0; i < config.nLayers(); i++) {
            ModelWeights l = w.child("transformer").child("layer", i);
            ModelWeights att = l.child("attention");
            layers.add(new Block(
                    Linear.load(att, "q_lin", dim, dim), Linear.load(att, "k_lin", dim, dim),
                    Linear.load(att, "v_lin", dim, dim), Linear.load(att, "out_lin", dim, dim),
                    new LayerNorm(l, "sa_layer_norm", dim, EPS),
                    Linear.load(l.child("ffn"), "lin1", dim, hidden), Linear.load(l.child("ffn"), "lin2", hidden, dim),
                    new LayerNorm(l, "output_layer_norm", dim, EPS)));
        }
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
        in.requireRank2(modelClass());
        int tokens = in.inputIds().dim(1);
        if (tokens > config.maxPositionEmbeddings()) {
            throw new dev.jformers.core.JformersException(tokens + " tokens exceed the model's "
                    + config.maxPositionEmbeddings() + " positions (truncate the input)");
        }
        Tensor positions = in.positionIds() != null ? in.positionIds() : Tensors.arange(0, tokens);
        Tensor x = backend.add(wordEmbeddings.forward(in.inputIds()), positionEmbeddings.forward(positions)); // [B, T, dim]
        x = dropout.forward(embeddingsLayerNorm.forward(x));
        AttentionMask mask = AttentionMask.padding(in.effectiveAttentionMask());
        float scale = (float) (1.0 / Math.sqrt(config.headSize()));
        List<Tensor> hidden = new ArrayList<>();
        List<Tensor> attentions = new ArrayList<>();
        for (Block b : layers) {
            if (in.outputHiddenStates()) {
                hidden.add(x);
            }
            Tensor q = b.qLin().forward(x), k = b.kLin().forward(x), v = b.vLin().forward(x);
            AttentionOutput attn = backend.attention(q, k, v, config.nHeads(), mask, scale, in.outputAttentions(),
                    attentionDropout);
            // recycle: dead intermediates give their memory to the next outputs of their size
            backend.recycle(q);
            backend.recycle(k);
            backend.recycle(v);
            Tensor out = b.outLin().forward(attn.context());
            backend.recycle(attn.context());
            Tensor a = b.saLayerNorm().forward(out, x);                                    // LayerNorm(out + x)
            backend.recycle(out);
            Tensor h = b.lin1().forward(a, config.activation());
            Tensor ffn = dropout.forward(b.lin2().forward(h));
            backend.recycle(h);
            Tensor y = b.outputLayerNorm().forward(ffn, a);
            backend.recycle(ffn);
            backend.recycle(a);
            if (!in.outputHiddenStates()) {
                backend.recycle(x);
            }
            x = y;
            if (in.outputAttentions()) {
                attentions.add(attn.probs());
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
