package dev.jformers.models.bert;

import dev.jformers.core.Activation;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.AttentionOutput;
import dev.jformers.core.Backend;
import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;
import dev.jformers.models.EncoderOutput;
import dev.jformers.models.Heads;
import dev.jformers.models.KVCache;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.ModelWeights;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.Tensors;
import dev.jformers.models.nn.Linear;

import java.util.ArrayList;
import java.util.List;

/**
 * HF {@code BertModel}: embeddings → encoder (N × {@link BertLayer}) → optional pooler
 * (tanh(dense(h[:, 0]))). Outputs {@code last_hidden_state} [B, T, C] and {@code pooler_output} [B, C].
 * Self-attention is bidirectional, masked only at padding (causal only for a decoder config).
 */
public class BertModel implements PreTrainedModel {
    protected final BertConfig config;
    protected final Backend backend;
    private final BertEmbeddings embeddings;
    private final List<BertLayer> layers = new ArrayList<>();
    private final Linear pooler;

    /** @param w the weights under the base prefix ("bert." / "roberta." in head checkpoints) */
    public BertModel(BertConfig config, ModelWeights w, boolean addPoolingLayer) {
        this.config = config;
        this.backend = w.backend();
        embeddings = new BertEmbeddings(config, w.child("embeddings"));
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(new BertLayer(config, w.child("encoder").child("layer", i)));
        }
        pooler = addPoolingLayer ? Linear.load(w.child("pooler"), "dense", config.hiddenSize(), config.hiddenSize()) : null;
    }

    @Override
    public BertConfig config() {
        return config;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    public BertEmbeddings embeddings() {
        return embeddings;
    }

    /** Embeddings and encoder: input ids [B, T] → hidden states [B, T, C]. */
    public EncoderOutput encode(ModelInput in) {
        return encode(in, false);
    }

    /**
     * {@link #encode} for a head that reads only h[:, 0] (the pooler, RoBERTa's classifier): where
     * {@link Heads#firstTokenOnly} allows and attention is not causal, the last layer computes everything after its
     * keys and values for the first token alone, and the last hidden state is [B, 1, C].
     */
    public EncoderOutput encodeForFirstToken(ModelInput in) {
        return encode(in, Heads.firstTokenOnly(in));
    }

    private EncoderOutput encode(ModelInput in, boolean firstTokenOnly) {
        in.requireRank2(modelClass());
        Tensor mask = in.effectiveAttentionMask();
        AttentionMask attentionMask = config.common().isDecoder() ? AttentionMask.causal(mask) : AttentionMask.padding(mask);
        Tensor x = embeddings.forward(in.inputIds(), in.tokenTypeIds(), in.positionIds());   // [B, T, C]
        List<Tensor> hidden = new ArrayList<>();
        List<Tensor> attentions = new ArrayList<>();
        for (BertLayer layer : layers) {
            if (in.outputHiddenStates()) {
                hidden.add(x);
            }
            AttentionOutput out = firstTokenOnly && !attentionMask.causal() && layer == layers.getLast()
                    ? new AttentionOutput(layer.forwardFirstToken(x, attentionMask), null)   // [B, 1, C]
                    : layer.forward(x, attentionMask, in.outputAttentions());
            if (!in.outputHiddenStates()) {
                backend().recycle(x);   // the layer's input is dead unless it is returned as a hidden state
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

    /**
     * A decoder step with a KV cache (config {@code is_decoder}): new ids [B, T], attention mask [B, past + T]
     * → hidden states of the new tokens [B, T, C]. Token types are 0, as HF's buffered
     * {@code token_type_ids} give.
     */
    public Tensor decode(Tensor inputIds, Tensor attentionMask, KVCache cache) {
        if (!config.common().isDecoder()) {
            throw new JformersException(modelClass() + " generates only as a decoder: its config.json needs \"is_decoder\": true"
                    + " (causal self-attention), as Hugging Face requires");
        }
        AttentionMask mask = AttentionMask.causal(attentionMask);
        Tensor positionIds = embeddings.decoderPositionIds(inputIds, cache.length());
        Tensor x = embeddings.forward(inputIds, null, positionIds);                        // [B, T, C]
        for (int i = 0; i < layers.size(); i++) {
            Tensor y = layers.get(i).forward(x, mask, cache, i, false).context();
            backend.recycle(x);
            x = y;
        }
        cache.advance(inputIds.dim(1));
        return x;
    }

    /** A cache for this model's layers. */
    public KVCache newCache(int batch, int capacity) {
        if (capacity > maxPositions()) {
            throw new JformersException("a KV cache of " + capacity + " positions exceeds the model's "
                    + maxPositions() + " positions");
        }
        return new KVCache(backend, layers.size(), batch, config.hiddenSize(), capacity);
    }

    /** The longest sequence the position embeddings hold (RoBERTa's start after pad + 1). */
    public int maxPositions() {
        return embeddings.maxPositions();
    }

    /** tanh(dense(h[:, 0])): [B, T, C] (or [B, 1, C] from {@link #encodeForFirstToken}) → [B, C]. */
    public Tensor pool(Tensor hidden) {
        if (pooler == null) {
            throw new IllegalStateException(modelClass() + " was built without a pooler");
        }
        return backend.activation(pooler.forward(hidden.select(1, 0)), Activation.TANH);
    }

    @Override
    public ModelOutput forward(ModelInput in) {
        EncoderOutput enc = encode(in);
        ModelOutput out = new ModelOutput().put("last_hidden_state", Tensors.host(backend, enc.lastHiddenState()));
        if (pooler != null) {
            out.put("pooler_output", Tensors.host(backend, pool(enc.lastHiddenState())));
        }
        return enc.addTo(out, backend);
    }
}
