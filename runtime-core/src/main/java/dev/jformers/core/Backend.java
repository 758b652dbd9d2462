package dev.jformers.core;

/**
 * The operations a transformer needs, implemented once per kind of hardware. All computation
 * is in float32. A backend's results live where the backend keeps them (host memory for the
 * CPU backends, device memory for a GPU backend); call {@link #toHost} to read them.
 * Implementations are thread-safe: a loaded model is shared by concurrent calls.
 *
 * <p>Shapes: B batch, T tokens, C channels (hidden size), h heads, d = C/h head size.
 */
public interface Backend extends AutoCloseable {

    /** "scalar", "cpu", "opencl", … */
    String name();

    /** A one-line description (vector width, threads, device). */
    String describe();

    // ---------------------------------------------------------------- memory

    /**
     * Makes a host tensor usable by this backend as float32 (weights at load time). The result must not
     * share memory with {@code hostTensor}: a model unmaps its weight files once it is built, so the
     * backend keeps its own copy (on the heap, packed, or on the device). {@link #prepareLinear} likewise.
     */
    Tensor upload(Tensor hostTensor);

    /** Makes an integer host tensor (token ids, masks) usable by this backend, keeping its dtype. */
    default Tensor uploadIndices(Tensor hostTensor) {
        return hostTensor;
    }

    /** A host copy (or the tensor itself when it already is on the host). */
    Tensor toHost(Tensor t);

    /** A new zero-filled float32 tensor owned by this backend. */
    Tensor zeros(int... shape);

    /** Copies {@code src} into {@code dst} (a view of a tensor from {@link #zeros}); shapes must be equal. */
    void copyInto(Tensor src, Tensor dst);

    // ---------------------------------------------------------------- operations

    /** Prepares a linear layer; {@code bias} may be null. */
    LinearWeight prepareLinear(Tensor weight, Tensor bias, WeightLayout layout);

    /**
     * New values of the weight and bias that {@code previous} was prepared from (same shapes and layout), prepared
     * into {@code previous}'s memory where the backend can: training re-packs every linear layer after each
     * optimizer step, and so allocates nothing for float32 weights (the CPU backend's bf16 and int8 re-packs take
     * one scratch panel per task). No call may be using {@code previous} meanwhile; use the
     * result from then on. The default prepares a new one.
     */
    default LinearWeight repackLinear(LinearWeight previous, Tensor weight, Tensor bias, WeightLayout layout) {
        return prepareLinear(weight, bias, layout);
    }

    /** y = x·Wᵀ + b: x [..., in] → [..., out]. */
    Tensor linear(Tensor x, LinearWeight w);

    /**
     * activation(x·Wᵀ + b): a dense layer and the activation after it (BertIntermediate, GPT-2's c_fc).
     * A backend may fuse the two (the CPU backend applies it in place over the product: no second tensor).
     */
    default Tensor linear(Tensor x, LinearWeight w, Activation activation) {
        return activation(linear(x, w), activation);
    }

    /** Batched matrix product: a [..., M, K] · b [..., K, N] → [..., M, N] (b may be a transposed view). */
    Tensor matmul(Tensor a, Tensor b);

    /** a + b, with b's shape equal to a trailing part of a's (b broadcast over a's leading dims). */
    Tensor add(Tensor a, Tensor b);

    /** Layer normalization over the last dimension: (x − mean)/√(var + eps)·weight + bias (biased variance). */
    Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, float eps);

    /**
     * layerNorm(x + residual): HF's post-LayerNorm residual step ({@code LayerNorm(hidden + input)} in
     * BertSelfOutput/BertOutput), x and residual of the same shape. A backend may fuse the two.
     */
    default Tensor addLayerNorm(Tensor x, Tensor residual, Tensor weight, Tensor bias, float eps) {
        return layerNorm(add(x, residual), weight, bias, eps);
    }

    /**
     * layerNorm(dropout(x·Wᵀ + b, p) + residual): BertSelfOutput's and BertOutput's dense, dropout, residual and
     * LayerNorm in one call. A backend may fuse them (the CPU backend normalizes rows in the product's epilogue).
     */
    default Tensor linearAddLayerNorm(Tensor x, LinearWeight w, float dropout, Tensor residual, Tensor weight, Tensor bias,
                                      float eps) {
        return addLayerNorm(dropout(linear(x, w), dropout), residual, weight, bias, eps);
    }

    /** The activation applied element-wise. */
    Tensor activation(Tensor x, Activation activation);

    /** Softmax over the last dimension. */
    Tensor softmax(Tensor x);

    /** Rows of {@code table} [V, C] picked by integer {@code ids} [...] → [..., C]; ids out of range throw. */
    Tensor embedding(Tensor table, Tensor ids);

    /**
     * Scaled dot-product attention over heads: q [B, Tq, h·d], k and v [B, Tk, h·d] (views with any
     * row stride, last dimension contiguous) → context [B, Tq, h·d], optionally probs [B, h, Tq, Tk].
     * scores = q·kᵀ·scale, masked as {@link AttentionMask} says, softmax over keys.
     */
    AttentionOutput attention(Tensor q, Tensor k, Tensor v, int heads, AttentionMask mask, float scale,
                              boolean returnProbs);

    /**
     * Dropout with probability {@code p}: identity here and in every inference backend (Hugging Face's eval
     * mode); a training backend zeroes each element with probability p and scales the others by 1/(1 − p).
     */
    default Tensor dropout(Tensor x, float p) {
        return x;
    }

    /** {@link #attention} with dropout {@code p} on the probabilities (identity outside training). */
    default AttentionOutput attention(Tensor q, Tensor k, Tensor v, int heads, AttentionMask mask, float scale,
                                      boolean returnProbs, float dropout) {
        return attention(q, k, v, heads, mask, scale, returnProbs);
    }

    /** a·b element by element, of equal shapes (dropout's mask). */
    default Tensor multiply(Tensor a, Tensor b) {
        throw cannotTrain("multiply");
    }

    /** Rows of {@code x} [N, C] picked by index → [rows.length, C] (GPT-2's classifier reads each row's last token). */
    default Tensor gatherRows(Tensor x, long[] rows) {
        Tensor host = toHost(x).contiguous();
        int c = host.dim(1);
        float[] all = host.toFloatArray(), out = new float[rows.length * c];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] < 0 || rows[i] >= host.dim(0)) {
                throw new ShapeException("gatherRows: row " + rows[i] + " outside [0, " + host.dim(0) + ")");
            }
            System.arraycopy(all, (int) rows[i] * c, out, i * c, c);
        }
        return upload(Tensor.of(out, rows.length, c));
    }

    /** x·factor (a loss's weight when losses are combined, e.g. the mean of QA's start and end losses). */
    default Tensor scale(Tensor x, float factor) {
        float[] v = toHost(x).toFloatArray();
        for (int i = 0; i < v.length; i++) {
            v[i] *= factor;
        }
        return upload(Tensor.of(v, x.shape()));
    }

    // ---------------------------------------------------------------- losses (Hugging Face's, mean-reduced)

    /**
     * Mean cross-entropy of logits [N, C] (rows may be strided views) against class ids [N] (integers),
     * over the rows whose label is not {@code ignoreIndex} → a scalar tensor (rank 0); 0/0 = NaN as in PyTorch.
     */
    default Tensor crossEntropy(Tensor logits, Tensor labels, int ignoreIndex) {
        throw cannotTrain("crossEntropy");
    }

    /** Mean squared error of input and target of equal element count → a scalar tensor. */
    default Tensor mseLoss(Tensor input, Tensor target) {
        throw cannotTrain("mseLoss");
    }

    /** Mean of binary cross-entropy with logits (the stable form) over all elements → a scalar tensor. */
    default Tensor bceWithLogitsLoss(Tensor logits, Tensor target) {
        throw cannotTrain("bceWithLogitsLoss");
    }

    // ---------------------------------------------------------------- training: the backward of each operation
    // dX-style results are new tensors; "accumulates" means +=, so that a weight used twice (tied
    // embeddings) receives the sum of both gradients.

    /** Whether this backend implements the operations below; a model trains only on one that does. */
    default boolean supportsTraining() {
        return false;
    }

    /** dst += src, of equal shapes; dst may be a strided view (a gradient buffer laid out like an activation). */
    default void accumulate(Tensor dst, Tensor src) {
        throw cannotTrain("accumulate");
    }

    /**
     * Backward of y = x·Wᵀ + b for dy [N, out] and the forward input x [N, in]; {@code weight} is laid out as
     * {@code layout} says ([out, in], or GPT-2 Conv1D's [in, out]). Accumulates dWeight (same layout) and dBias
     * [out], either of which may be null (frozen), and returns dx [N, in] = dy·W, or null when
     * {@code inputGradient} is false.
     */
    default Tensor linearBackward(Tensor dy, Tensor x, Tensor weight, WeightLayout layout, Tensor dWeight,
                                  Tensor dBias, boolean inputGradient) {
        throw cannotTrain("linearBackward");
    }

    /** Backward of {@link #layerNorm} at input x: returns dx; accumulates dWeight and dBias (either may be null). */
    default Tensor layerNormBackward(Tensor dy, Tensor x, Tensor weight, float eps, Tensor dWeight, Tensor dBias) {
        throw cannotTrain("layerNormBackward");
    }

    /** Backward of {@link #activation} at input x: dy·act′(x). */
    default Tensor activationBackward(Tensor dy, Tensor x, Activation activation) {
        throw cannotTrain("activationBackward");
    }

    /** Backward of {@link #softmax} from its output y: y·(dy − Σ dy·y). */
    default Tensor softmaxBackward(Tensor dy, Tensor y) {
        throw cannotTrain("softmaxBackward");
    }

    /**
     * Backward of {@link #attention} from its probabilities [B, h, Tq, Tk] (masked keys have probability 0,
     * so they get no gradient): dContext [B, Tq, h·d] → {dq, dk, dv}, shaped as q, k and v: contiguous, or — where
     * q, k and v are views of one array (a fused query/key/value projection) — views laid out in one array of their
     * own exactly as q, k and v lie in theirs.
     */
    default Tensor[] attentionBackward(Tensor dContext, Tensor q, Tensor k, Tensor v, Tensor probs, int heads,
                                       float scale) {
        throw cannotTrain("attentionBackward");
    }

    /**
     * {@link #attentionBackward} of attention whose probabilities went through dropout before the product with V:
     * context = (P·keep)·V element-wise in P, with {@code keep} [B, h, Tq, Tk] holding 0 or 1/(1 − p). The
     * probabilities are the ones before dropout.
     */
    default Tensor[] attentionBackward(Tensor dContext, Tensor q, Tensor k, Tensor v, Tensor probs, Tensor keep,
                                       int heads, float scale) {
        throw cannotTrain("attentionBackward with dropout");
    }

    /** Backward of {@link #embedding}: dTable[ids[i]] += dy[i], except rows equal to {@code paddingIdx} (−1: none). */
    default void embeddingBackward(Tensor dy, Tensor ids, Tensor dTable, int paddingIdx) {
        throw cannotTrain("embeddingBackward");
    }

    /** Backward of {@link #gatherRows}: dx [N, C] with dx[rows[i]] += dy[i]. */
    default Tensor gatherRowsBackward(Tensor dy, long[] rows, int n) {
        throw cannotTrain("gatherRowsBackward");
    }

    /** d(mean cross-entropy)/d logits [N, C], times {@code gradOutput}: (softmax − one-hot)/kept rows, 0 on ignored rows. */
    default Tensor crossEntropyBackward(Tensor logits, Tensor labels, int ignoreIndex, float gradOutput) {
        throw cannotTrain("crossEntropyBackward");
    }

    /** d(mse)/d input, times {@code gradOutput}: 2·(input − target)/n, shaped as input. */
    default Tensor mseLossBackward(Tensor input, Tensor target, float gradOutput) {
        throw cannotTrain("mseLossBackward");
    }

    /** d(bce with logits)/d logits, times {@code gradOutput}: (sigmoid(x) − target)/n. */
    default Tensor bceWithLogitsLossBackward(Tensor logits, Tensor target, float gradOutput) {
        throw cannotTrain("bceWithLogitsLossBackward");
    }

    /**
     * One AdamW step over n master weights w[off..off + n) with their gradient g (same offset) and the moments
     * m, v [0, n), updated in place. The default runs {@link AdamWStep#apply}; a backend may vectorise it and
     * split it between threads, with bit-identical results.
     */
    default void adamW(AdamWStep step, float[] w, float[] g, int off, float[] m, float[] v, int n) {
        step.apply(w, g, off, m, v, 0, n);
    }

    private JformersException cannotTrain(String op) {
        return new JformersException("the " + name() + " backend cannot train (no " + op
                + "): use --backend cpu or scalar");
    }

    /**
     * Opens a {@link Scope} on this thread: what this backend produces until it closes is reused afterwards,
     * except what is kept. The default hands nothing back.
     */
    default Scope scope() {
        return Scope.NONE;
    }

    /**
     * Hands back a tensor this backend produced, which the caller and every view of it will never use
     * again, so that a later output can reuse its memory (a forward pass then allocates nothing in its
     * steady state). Only the model code that made an intermediate calls this. The default does nothing.
     */
    default void recycle(Tensor t) {
    }

    /**
     * Lets {@link #recycle} keep up to {@code floats} floats of handed-back arrays for reuse instead of its
     * default bound (0: back to the default, dropping what is over it). A training step hands back a whole
     * forward's activations, which the next forward reuses; an inference block hands back only its own
     * outputs. The default does nothing.
     */
    default void recycleCapacity(long floats) {
    }

    /** Releases threads or device memory; the default does nothing. */
    @Override
    default void close() {
    }
}
