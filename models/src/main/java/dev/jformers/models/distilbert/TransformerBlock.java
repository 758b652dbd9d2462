package dev.jformers.models.distilbert;

import dev.jformers.core.AttentionMask;
import dev.jformers.core.AttentionOutput;
import dev.jformers.core.Backend;
import dev.jformers.core.Scope;
import dev.jformers.core.Tensor;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.Tensors;
import dev.jformers.models.nn.Dropout;
import dev.jformers.models.nn.LayerNorm;
import dev.jformers.models.nn.Linear;

/**
 * HF DistilBERT's {@code TransformerBlock} ({@code transformer.layer.i}), post-LayerNorm:
 * <pre>
 *   a = sa_layer_norm(x + attention.out_lin(attention(q_lin x, k_lin x, v_lin x)))
 *   y = output_layer_norm(a + ffn.lin2(act(ffn.lin1(a))))
 * </pre>
 */
public final class TransformerBlock {
    private final DistilBertConfig config;
    private final Backend backend;
    private final float scale;
    // attention (MultiHeadSelfAttention)
    private final Linear qkvLin;   // q_lin, k_lin, v_lin fused: one product [dim → 3·dim]
    private final Linear outLin;
    private final LayerNorm saLayerNorm;
    // ffn
    private final Linear lin1;
    private final Linear lin2;
    private final LayerNorm outputLayerNorm;
    private final float attentionDropout;   // on the attention weights
    private final Dropout dropout;          // after the FFN

    TransformerBlock(DistilBertConfig config, ModelWeights w) {
        this.config = config;
        this.backend = w.backend();
        int dim = config.dim(), hidden = config.hiddenDim();
        scale = (float) (1.0 / Math.sqrt(config.headSize()));
        ModelWeights att = w.child("attention");
        qkvLin = Linear.fused(att, dim, dim, "q_lin", "k_lin", "v_lin");
        outLin = Linear.load(att, "out_lin", dim, dim);
        saLayerNorm = new LayerNorm(w, "sa_layer_norm", dim, DistilBertModel.EPS);
        lin1 = Linear.load(w.child("ffn"), "lin1", dim, hidden);
        lin2 = Linear.load(w.child("ffn"), "lin2", hidden, dim);
        outputLayerNorm = new LayerNorm(w, "output_layer_norm", dim, DistilBertModel.EPS);
        attentionDropout = Dropout.of(backend, config.common(), 0.1, "attention_dropout").p();
        dropout = Dropout.of(backend, config.common(), 0.1, "dropout");
    }

    /** x [B, T, dim] → [B, T, dim]; probs [B, heads, T, T] when asked for. */
    public AttentionOutput forward(Tensor x, AttentionMask mask, boolean returnProbs) {
        try (Scope scope = backend.scope()) {   // every intermediate below is handed back when the block ends
            // q_lin, k_lin and v_lin as one product (one pass over x, one hand-off to the threads), read as views
            int dim = config.dim();
            Tensor qkv = qkvLin.forward(x);                                                  // [B, T, 3·dim]
            Tensor query = qkv.narrow(2, 0, dim), key = qkv.narrow(2, dim, dim), value = qkv.narrow(2, 2 * dim, dim);
            AttentionOutput attention = backend.attention(query, key, value, config.nHeads(), mask, scale,
                    returnProbs, attentionDropout);
            Tensor y = outputs(attention.context(), x);                                     // [B, T, dim]
            return new AttentionOutput(scope.keep(y), scope.keep(attention.probs()));
        }
    }

    /**
     * The last block under a sentence head, which reads only h[:, 0]: keys and values of every token, everything after
     * attention for each sequence's first token alone. x [B, T, dim] → [B, 1, dim], equal to forward(x)[:, :1].
     * (The fused product still computes every token's query: it is one GEMM.)
     */
    public Tensor forwardFirstToken(Tensor x, AttentionMask mask) {
        try (Scope scope = backend.scope()) {
            int dim = config.dim();
            Tensor qkv = qkvLin.forward(x);                                                  // [B, T, 3·dim]
            Tensor query = Tensors.firstTokens(backend, qkv).narrow(2, 0, dim);             // [B, 1, dim]
            Tensor key = qkv.narrow(2, dim, dim), value = qkv.narrow(2, 2 * dim, dim);      // [B, T, dim]
            Tensor context = backend.attention(query, key, value, config.nHeads(), mask, scale, false,
                    attentionDropout).context();                                            // [B, 1, dim]
            return scope.keep(outputs(context, Tensors.firstTokens(backend, x)));
        }
    }

    /** Output projection, sa_layer_norm and the FFN: the attention's context and the block's input x → its output. */
    private Tensor outputs(Tensor context, Tensor x) {
        Tensor a = saLayerNorm.forward(outLin, context, x);                                 // LayerNorm(out_lin(context) + x)
        Tensor h = lin1.forward(a, config.activation());                                    // [B, T, hidden_dim]
        return outputLayerNorm.forward(lin2, dropout, h, a);                                // LayerNorm(dropout(lin2(h)) + a)
    }
}
