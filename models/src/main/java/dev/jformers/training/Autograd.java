package dev.jformers.training;

import dev.jformers.core.AdamWStep;
import dev.jformers.core.Activation;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.AttentionOutput;
import dev.jformers.core.Backend;
import dev.jformers.core.DType;
import dev.jformers.core.JformersException;
import dev.jformers.core.LinearWeight;
import dev.jformers.core.Storage;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;
import dev.jformers.models.ParameterRegistry;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * Reverse-mode automatic differentiation, the way PyTorch's autograd does it, over any backend that
 * {@link Backend#supportsTraining() can train}. A model built on an {@code Autograd} runs its ordinary forward
 * code — the same code that serves inference — and, in {@link #train() training mode}, every backend call it
 * makes is computed by the wrapped backend and recorded on a tape with the function that turns the gradient
 * of its output into gradients of its inputs. {@link #backward} walks the tape from the loss back to the
 * weights. In eval mode nothing is recorded: the model is an ordinary inference model on the trained weights.
 *
 * <p>Gradients are kept per activation buffer: the gradient of a tensor is the same view (shape, strides,
 * offset) over a gradient array laid out like the tensor's own array, so views such as the query/key/value
 * thirds of the fused projection or the [CLS] row need no operation of their own.
 *
 * <p>Weights: every checkpoint tensor the model uploads or prepares becomes a float32 master copy on the heap
 * and a {@link Parameter} under its Hugging Face name; linear layers are re-packed for the wrapped backend
 * after each optimizer step ({@link #weightsChanged}). Training is single-threaded per model (the tape is
 * one sequence); eval mode is as thread-safe as the wrapped backend while no weights change.
 */
public final class Autograd implements Backend, ParameterRegistry {
    private final Backend inner;
    private boolean training;
    private final List<Step> tape = new ArrayList<>();
    /** Gradient arrays, keyed by the (identity of the) array of the activation or weight they belong to. */
    private final Map<float[], float[]> gradients = new IdentityHashMap<>();
    /**
     * The parameters' gradient arrays that {@link #zeroGrad} let go, by weight array: the next backward zeroes and
     * reuses them instead of allocating every parameter's gradient afresh at every step. Dropped in eval mode.
     */
    private final Map<float[], float[]> spareGradients = new IdentityHashMap<>();

    // what the model's construction told us about the checkpoint tensors it is about to hand over
    private final Map<Tensor, String> names = new IdentityHashMap<>();
    private final Map<Tensor, List<RowName>> rowNames = new IdentityHashMap<>();
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<float[], List<Parameter>> parametersOfArray = new IdentityHashMap<>();
    private final Map<float[], Integer> paddingRows = new IdentityHashMap<>();
    private long weightsVersion;
    private SplittableRandom random = new SplittableRandom(42);

    private record RowName(int start, int rows, String name) {
    }

    /**
     * One recorded operation: the tensor it made, what else it made that only its backward reads (attention's
     * probabilities, a dropout mask; entries may be null), and the function that passes its output's gradient on
     * to its inputs.
     */
    private record Step(Tensor output, Tensor[] internals, Runnable backward) {
    }

    /**
     * The arrays of the tensors the caller keeps past {@link #backward} (the model's outputs), when it said which
     * ({@link #keepAfterBackward}); null otherwise, and then no activation is handed back.
     */
    private Set<float[]> keptAfterBackward;

    public Autograd(Backend inner) {
        if (!inner.supportsTraining()) {
            throw new JformersException("the " + inner.name() + " backend cannot train: use --backend cpu or scalar");
        }
        this.inner = inner;
    }

    /** The backend that computes. */
    public Backend inner() {
        return inner;
    }

    // ---------------------------------------------------------------- modes, tape, gradients

    /** Records from now on (PyTorch's {@code model.train()}). */
    public Autograd train() {
        training = true;
        return this;
    }

    /** Stops recording and forgets the tape (PyTorch's {@code model.eval()}). */
    public Autograd eval() {
        training = false;
        tape.clear();
        keptAfterBackward = null;
        spareGradients.clear();
        inner.recycleCapacity(0);   // the activations of training are not kept for inference
        return this;
    }

    public boolean isTraining() {
        return training;
    }

    /** Seeds the dropout masks: the same seed, model and batches give the same run. */
    public Autograd seed(long seed) {
        random = new SplittableRandom(seed);
        return this;
    }

    /**
     * Back-propagates from {@code loss} (a scalar this autograd computed in training mode): afterwards each
     * trainable {@link Parameter#grad()} holds d loss / d parameter, added to what earlier backward calls left
     * (gradient accumulation) until {@link #zeroGrad}. The tape and the activations' gradients are released.
     */
    public void backward(Tensor loss) {
        if (loss.numel() != 1) {
            throw new JformersException("backward: the loss must be a scalar, got " + loss);
        }
        if (tape.isEmpty()) {
            throw new JformersException("backward: nothing was recorded (call train() before the forward pass)");
        }
        addToGradient(loss, Tensor.full(1f, loss.shape()));
        Set<float[]> released = Collections.newSetFromMap(new IdentityHashMap<>());
        if (keptAfterBackward != null) {   // room for every activation about to be handed back, and a margin for gradients
            long floats = 0;
            Set<float[]> seen = Collections.newSetFromMap(new IdentityHashMap<>());
            for (Step step : tape) {
                for (Tensor t : step.internals()) {
                    if (t != null && t.floatArray() != null && seen.add(t.floatArray())) {
                        floats += t.floatArray().length;
                    }
                }
                Tensor t = step.output();
                if (t != null && t.floatArray() != null && seen.add(t.floatArray())) {
                    floats += t.floatArray().length;
                }
            }
            inner.recycleCapacity(floats + floats / 4);
        }
        for (int i = tape.size() - 1; i >= 0; i--) {
            Step step = tape.get(i);
            step.backward().run();
            release(step.output());
            if (keptAfterBackward != null) {
                releaseActivation(step.output(), released);
                for (Tensor t : step.internals()) {
                    releaseActivation(t, released);
                }
            }
        }
        tape.clear();
        keptAfterBackward = null;
        gradients.keySet().removeIf(array -> !parametersOfArray.containsKey(array));
    }

    /**
     * Says that of this forward's activations only {@code outputs} (the model's outputs: loss, logits, ...) are
     * used after {@link #backward}: every other activation goes back to the wrapped backend as soon as the
     * backward step of the operation that made it has run (the steps before it in the forward never read it),
     * so the next forward reuses the arrays instead of allocating its activations afresh. Without this call
     * (a caller that may hold any activation) nothing but the gradients is handed back.
     */
    public void keepAfterBackward(Iterable<Tensor> outputs) {
        Set<float[]> kept = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Tensor t : outputs) {
            if (t != null && t.floatArray() != null) {
                kept.add(t.floatArray());
            }
        }
        keptAfterBackward = kept;
    }

    /** Hands an activation's whole array back, unless it is kept, a parameter, or already handed back. */
    private void releaseActivation(Tensor t, Set<float[]> released) {
        float[] array = t == null ? null : t.floatArray();
        if (array == null || parametersOfArray.containsKey(array) || keptAfterBackward.contains(array)
                || gradients.containsKey(array) || !released.add(array)) {
            return;
        }
        inner.recycle(Tensor.wrap(MemorySegment.ofArray(array), DType.F32, array.length));
    }

    /**
     * Once the step that made {@code output} has passed its gradient on, that gradient is complete and read by
     * nothing else (every use of the output was recorded later, so its backward already ran): its array goes
     * back to the wrapped backend, whose next outputs reuse it — as PyTorch frees a gradient once consumed.
     * A step of the backward then mostly writes into memory the step before it handed back, instead of fresh
     * arrays the JVM must zero (and, when its heap has shrunk, the kernel must map again).
     */
    private void release(Tensor output) {
        float[] array = output == null ? null : output.floatArray();
        if (array == null || parametersOfArray.containsKey(array)) {
            return;
        }
        float[] g = gradients.remove(array);
        if (g != null && g != array) {
            inner.recycle(Tensor.wrap(MemorySegment.ofArray(g), DType.F32, g.length));
        }
    }

    /**
     * Forgets every gradient (PyTorch's {@code zero_grad(set_to_none=True)}: no parameter has one until a loss
     * reaches it again); the parameters' arrays are kept for the next backward, which zeroes and refills them —
     * unlike PyTorch, an array that {@link Parameter#grad()} returned before does not keep its values: copy it to keep it.
     */
    public void zeroGrad() {
        gradients.forEach((array, g) -> {
            if (parametersOfArray.containsKey(array)) {
                spareGradients.put(array, g);
            }
        });
        gradients.clear();
    }

    /**
     * Call after changing parameter values in place: linear layers re-pack their weights on next use, into the
     * packed arrays they already have — so no forward may be running on this model meanwhile (another thread's
     * forward would read a mix of old and new panels).
     */
    public void weightsChanged() {
        weightsVersion++;
    }

    /** Every parameter under its checkpoint name, in the order the model read them. */
    public Map<String, Parameter> parameters() {
        return Collections.unmodifiableMap(parameters);
    }

    /** The parameter called {@code name}, or a clear error. */
    public Parameter parameter(String name) {
        Parameter p = parameters.get(name);
        if (p == null) {
            throw new JformersException("no parameter '" + name + "' (the model has " + parameters.size() + ")");
        }
        return p;
    }

    /** The gradient array of {@code t}'s array, or null when none was made. */
    float[] gradientArray(Tensor t) {
        return gradients.get(t.floatArray());
    }

    /** The gradient of {@code t} as a view laid out like t, or null when nothing flowed into it. */
    private Tensor gradientOf(Tensor t) {
        float[] array = t.floatArray();
        float[] g = array == null ? null : gradients.get(array);
        return g == null ? null : viewOver(t, g);
    }

    private static Tensor viewOver(Tensor t, float[] g) {
        return t.viewOver(new Storage.Host(MemorySegment.ofArray(g)), t.arrayOffset());
    }

    /**
     * grad(t) += d, for a d that a backward just computed (nothing else holds it). Tensors that are not float
     * arrays on the heap (ids, masks) take no gradient. The first gradient of a whole activation takes d's array
     * as it is when d is laid out like t's array, instead of copying it into a zeroed one.
     */
    private void addToGradient(Tensor t, Tensor d) {
        float[] array = t.floatArray(), fresh = d == null ? null : d.floatArray();
        if (array != null && fresh != null && !gradients.containsKey(array) && t.wholeArray() != null && d.wholeArray() != null
                && t.numel() == d.numel()) {
            gradients.put(array, fresh);
            return;
        }
        addToGradientCopy(t, d);
        if (d != null) {
            inner.recycle(d);   // added in, read by nothing else: its memory serves the next output
        }
    }

    /**
     * grad(ts[i]) += ds[i] for each i. When the ts are views of one activation that has no gradient yet and the ds lie
     * in one array of the backend's exactly as the ts lie in theirs, filling its segment (attention's dQ, dK, dV for
     * the thirds of the fused query/key/value projection), that array becomes the activation's gradient as it is:
     * no zeroed gradient and no strided additions into it.
     */
    private void addToGradients(Tensor[] ts, Tensor[] ds) {
        if (sameLayoutFillingOneArray(ts, ds)) {
            gradients.put(ts[0].floatArray(), ds[0].floatArray());
            return;
        }
        float[] shared = ds[0] == null ? null : ds[0].floatArray();
        for (int i = 0; i < ts.length; i++) {
            if (ds[i] == null || ds[i].floatArray() != shared || ds[i].wholeArray() != null) {
                shared = null;   // not all views of one array: addToGradient hands each back (or keeps it)
            }
            addToGradient(ts[i], ds[i]);
        }
        if (shared != null) {   // views of one array, all added in: the array goes back whole
            inner.recycle(Tensor.wrap(MemorySegment.ofArray(shared), DType.F32, shared.length));
        }
    }

    /** Whether ts and ds are as {@link #addToGradients} takes them whole: see there. */
    private boolean sameLayoutFillingOneArray(Tensor[] ts, Tensor[] ds) {
        float[] array = ts[0].floatArray(), d = ds[0].floatArray();
        if (array == null || d == null || array == d || gradients.containsKey(array) || parametersOfArray.containsKey(array)
                || ts[0].segment().address() != ds[0].segment().address()
                || ts[0].segment().byteSize() != ds[0].segment().byteSize()) {
            return false;
        }
        long elements = 0;
        Set<Long> offsets = new java.util.HashSet<>();
        for (int i = 0; i < ts.length; i++) {
            Tensor t = ts[i], g = ds[i];
            if (t.floatArray() != array || g.floatArray() != d || t.segment().byteSize() != ts[0].segment().byteSize()
                    || g.segment().byteSize() != ds[0].segment().byteSize() || t.arrayOffset() != g.arrayOffset()
                    || !java.util.Arrays.equals(t.shape(), g.shape()) || !java.util.Arrays.equals(t.strides(), g.strides())
                    || !offsets.add(t.arrayOffset())) {
                return false;
            }
            elements += t.numel();
        }
        // column blocks of one row layout that cannot overlap: same shape and strides, contiguous rows, offsets at
        // least a row's width apart and all within the first row (the fused projection's thirds)
        int rank = ts[0].rank(), width = rank == 0 ? 1 : ts[0].dim(-1);
        long rowStride = rank < 2 ? Long.MAX_VALUE : ts[0].stride(-2);
        long[] sorted = offsets.stream().mapToLong(Long::longValue).sorted().toArray();
        for (int i = 0; i < ts.length; i++) {
            if (!java.util.Arrays.equals(ts[i].shape(), ts[0].shape()) || !java.util.Arrays.equals(ts[i].strides(), ts[0].strides())
                    || (rank > 0 && ts[i].dim(-1) > 1 && ts[i].stride(-1) != 1)
                    || (i > 0 && sorted[i] - sorted[i - 1] < width)) {
                return false;
            }
        }
        return sorted[sorted.length - 1] - sorted[0] + width <= rowStride
                && elements * Float.BYTES == ds[0].segment().byteSize();   // the ds write every float of the segment
    }

    /** grad(t) += d, copying d: for a d that is itself a gradient (a residual's dy goes to both of its inputs). */
    private void addToGradientCopy(Tensor t, Tensor d) {
        float[] array = t.floatArray();
        if (array == null || d == null) {
            return;
        }
        float[] g = gradients.computeIfAbsent(array, this::newGradient);
        inner.accumulate(viewOver(t, g), d);
    }

    /**
     * grad(x) += grad(y) for an operation whose output y's gradient nothing reads afterwards (the step that made y
     * is the last to read it): when x has no gradient yet and is laid out as y, x takes y's gradient array itself
     * (a residual add's first input), else it gets a copy.
     */
    private void passGradient(Tensor y, Tensor x) {
        float[] from = y.floatArray(), to = x.floatArray();
        if (from != null && to != null && gradients.containsKey(from) && !gradients.containsKey(to)
                && !parametersOfArray.containsKey(to) && !parametersOfArray.containsKey(from)
                && y.wholeArray() != null && x.wholeArray() != null && y.numel() == x.numel()) {
            gradients.put(to, gradients.remove(from));
            return;
        }
        addToGradientCopy(x, gradientOf(y));
    }

    /** A zeroed gradient array laid out like {@code array}: a parameter's from the last step, else the backend's. */
    private float[] newGradient(float[] array) {
        float[] g = spareGradients.remove(array);
        if (g != null) {
            java.util.Arrays.fill(g, 0f);
            return g;
        }
        Tensor z = inner.zeros(array.length);   // the SIMD backend hands out a recycled array when one fits
        g = z.floatArray();   // maybe longer than asked for: its first array.length floats are zeroed, the rest unused
        return g != null && z.arrayOffset() == 0 ? g : new float[array.length];
    }

    /** The gradient view of a weight to accumulate into, or null when it is frozen (or not a parameter). */
    private Tensor weightGradient(Tensor weight) {
        if (weight == null) {
            return null;
        }
        List<Parameter> ps = parametersOfArray.get(weight.floatArray());
        if (ps == null || ps.stream().noneMatch(Parameter::requiresGrad)) {
            return null;
        }
        float[] g = gradients.computeIfAbsent(weight.floatArray(), this::newGradient);
        return viewOver(weight, g);
    }

    /** Records the backward of the operation that made {@code output} (while training). */
    private void record(Tensor output, Runnable backward) {
        record(output, new Tensor[0], backward);
    }

    /** {@link #record}, with tensors besides the output that only this backward reads (handed back after it). */
    private void record(Tensor output, Tensor[] internals, Runnable backward) {
        if (training) {
            tape.add(new Step(output, internals, backward));
        }
    }

    /** Records an operation of one input: grad(x) += backward(grad(y)), when a gradient reached y. */
    private void recordUnary(Tensor y, Tensor x, UnaryOperator<Tensor> backward) {
        record(y, () -> {
            Tensor dy = gradientOf(y);
            if (dy != null) {
                addToGradient(x, backward.apply(dy));
            }
        });
    }

    /** Records a loss: grad(input) += backward(d total / d loss), a scalar. */
    private void recordLoss(Tensor loss, Tensor input, Function<Float, Tensor> backward) {
        recordUnary(loss, input, dLoss -> backward.apply(dLoss.toFloatArray()[0]));
    }

    // ---------------------------------------------------------------- parameters (ParameterRegistry)

    @Override
    public void name(Tensor weight, String name) {
        names.put(weight, name);
    }

    @Override
    public void nameRows(Tensor fused, int start, int rows, String name) {
        rowNames.computeIfAbsent(fused, k -> new ArrayList<>()).add(new RowName(start, rows, name));
    }

    @Override
    public void paddingIdx(Tensor uploadedTable, int index) {
        paddingRows.put(uploadedTable.floatArray(), index);
    }

    /** The master copy of a weight handed over by the model, registered under its names; tied weights pass through. */
    private Tensor master(Tensor weight) {
        if (weight == null || parametersOfArray.containsKey(weight.floatArray())) {
            return weight;
        }
        String name = names.remove(weight);
        List<RowName> parts = rowNames.remove(weight);
        Tensor master = Tensor.of(weight.toFloatArray(), weight.shape());
        if (name != null) {
            register(name, master);
        }
        if (parts != null) {
            for (RowName part : parts) {
                register(part.name(), master.narrow(0, part.start(), part.rows()));
            }
        }
        return master;
    }

    private void register(String name, Tensor value) {
        Parameter p = new Parameter(name, value, this);
        parameters.put(name, p);
        parametersOfArray.computeIfAbsent(value.floatArray(), k -> new ArrayList<>()).add(p);
    }

    // ---------------------------------------------------------------- memory

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public String describe() {
        return inner.describe() + ", with autograd";
    }

    @Override
    public Tensor upload(Tensor hostTensor) {
        return names.containsKey(hostTensor) || rowNames.containsKey(hostTensor)
                ? master(hostTensor) : inner.upload(hostTensor);
    }

    @Override
    public Tensor uploadIndices(Tensor hostTensor) {
        return inner.uploadIndices(hostTensor);
    }

    @Override
    public Tensor toHost(Tensor t) {
        return inner.toHost(t);
    }

    @Override
    public Tensor zeros(int... shape) {
        return inner.zeros(shape);
    }

    @Override
    public void copyInto(Tensor src, Tensor dst) {
        inner.copyInto(src, dst);
    }

    /** While training every activation stays alive for the backward pass: scopes hand nothing back. */
    @Override
    public dev.jformers.core.Scope scope() {
        return training ? dev.jformers.core.Scope.NONE : inner.scope();
    }

    /** While training every activation stays alive for the backward pass: nothing is recycled. */
    @Override
    public void recycle(Tensor t) {
        if (!training) {
            inner.recycle(t);
        }
    }

    @Override
    public void recycleCapacity(long floats) {
        inner.recycleCapacity(floats);
    }

    @Override
    public void close() {
        inner.close();
    }

    @Override
    public boolean supportsTraining() {
        return true;
    }

    @Override
    public void adamW(AdamWStep step, float[] w, float[] g, int off, float[] m, float[] v, int n) {
        inner.adamW(step, w, g, off, m, v, n);
    }

    // ---------------------------------------------------------------- operations and their backward

    /** A linear layer over master weights; packed for the wrapped backend again after each optimizer step. */
    private final class TrainableLinear implements LinearWeight {
        final Tensor weight;
        final Tensor bias;
        final WeightLayout layout;
        private LinearWeight packed;
        private long packedVersion = -1;

        TrainableLinear(Tensor weight, Tensor bias, WeightLayout layout) {
            this.weight = weight;
            this.bias = bias;
            this.layout = layout;
        }

        synchronized LinearWeight packed() {
            if (packedVersion != weightsVersion) {
                packed = packed == null ? inner.prepareLinear(weight, bias, layout)
                        : inner.repackLinear(packed, weight, bias, layout);   // into the same panels: no fresh copy per step
                packedVersion = weightsVersion;
            }
            return packed;
        }

        @Override
        public int inFeatures() {
            return layout == WeightLayout.OUT_IN ? weight.dim(1) : weight.dim(0);
        }

        @Override
        public int outFeatures() {
            return layout == WeightLayout.OUT_IN ? weight.dim(0) : weight.dim(1);
        }
    }

    @Override
    public LinearWeight prepareLinear(Tensor weight, Tensor bias, WeightLayout layout) {
        return new TrainableLinear(master(weight), master(bias), layout);
    }

    /** y = x·Wᵀ + b; backward: dx = dy·W, dW += dyᵀ·x, db += Σ dy. */
    @Override
    public Tensor linear(Tensor x, LinearWeight w) {
        TrainableLinear layer = (TrainableLinear) w;
        Tensor y = inner.linear(x, layer.packed());
        record(y, () -> {
            Tensor dy = gradientOf(y);
            if (dy != null) {
                int in = layer.inFeatures(), out = layer.outFeatures();
                Tensor dx = inner.linearBackward(dy.reshape(-1, out), x.reshape(-1, in), layer.weight, layer.layout,
                        weightGradient(layer.weight), weightGradient(layer.bias), x.floatArray() != null);
                addToGradient(x, dx == null ? null : dx.reshape(x.shape()));
            }
        });
        return y;
    }

    /** While training the activation is a step of its own, so that its input is kept for the backward. */
    @Override
    public Tensor linear(Tensor x, LinearWeight w, Activation activation) {
        if (!training) {
            return inner.linear(x, ((TrainableLinear) w).packed(), activation);
        }
        return activation(linear(x, w), activation);
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        Tensor y = inner.matmul(a, b);
        record(y, () -> {
            Tensor dy = gradientOf(y);
            if (dy != null) {   // dA = dY·Bᵀ, dB = Aᵀ·dY
                addToGradient(a, inner.matmul(dy, b.transpose(-2, -1)));
                if (b.rank() == a.rank()) {
                    addToGradient(b, inner.matmul(a.transpose(-2, -1), dy));
                } else {
                    addToGradient(b, inner.matmul(a.reshape(-1, a.dim(-1)).transpose(0, 1), dy.reshape(-1, dy.dim(-1))));
                }
            }
        });
        return y;
    }

    /** a + b (b broadcast over a's leading dimensions); backward: da = dy, db = dy summed over the broadcast. */
    @Override
    public Tensor add(Tensor a, Tensor b) {
        Tensor y = inner.add(a, b);
        record(y, () -> {
            Tensor dy = gradientOf(y);
            if (dy != null) {
                addToGradientCopy(b, a.numel() == b.numel() ? dy.reshape(b.shape()) : sumOverBroadcast(dy, b));
                passGradient(y, a);   // da = dy: often dy's own array (y's gradient is not read after this)
            }
        });
        return y;
    }

    /** dy summed over the leading dimensions b was broadcast over, shaped as b. */
    private static Tensor sumOverBroadcast(Tensor dy, Tensor b) {
        Tensor c = dy.contiguous();
        float[] g = c.floatArray() != null ? c.floatArray() : c.toFloatArray();   // read in place when it can be
        int off = c.floatArray() != null ? (int) c.arrayOffset() : 0, n = Math.toIntExact(b.numel());
        float[] sum = new float[n];
        for (int i = 0, total = Math.toIntExact(dy.numel()); i < total; i++) {
            sum[i % n] += g[off + i];
        }
        return Tensor.of(sum, b.shape());
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, float eps) {
        Tensor y = inner.layerNorm(x, weight, bias, eps);
        recordUnary(y, x, dy -> inner.layerNormBackward(dy, x, weight, eps, weightGradient(weight), weightGradient(bias)));
        return y;
    }

    /** Training: linear, dropout and addLayerNorm as steps of their own (each recorded); eval: the backend's fused call. */
    @Override
    public Tensor linearAddLayerNorm(Tensor x, LinearWeight w, float dropout, Tensor residual, Tensor weight, Tensor bias,
                                     float eps) {
        return training ? Backend.super.linearAddLayerNorm(x, w, dropout, residual, weight, bias, eps)
                : inner.linearAddLayerNorm(x, ((TrainableLinear) w).packed(), dropout, residual, weight, bias, eps);
    }

    @Override
    public Tensor addLayerNorm(Tensor x, Tensor residual, Tensor weight, Tensor bias, float eps) {
        return training ? layerNorm(add(x, residual), weight, bias, eps)
                : inner.addLayerNorm(x, residual, weight, bias, eps);
    }

    @Override
    public Tensor activation(Tensor x, Activation activation) {
        Tensor y = inner.activation(x, activation);
        recordUnary(y, x, dy -> inner.activationBackward(dy, x, activation));
        return y;
    }

    @Override
    public Tensor softmax(Tensor x) {
        Tensor y = inner.softmax(x);
        recordUnary(y, x, dy -> inner.softmaxBackward(dy, y));
        return y;
    }

    @Override
    public Tensor embedding(Tensor table, Tensor ids) {
        Tensor y = inner.embedding(table, ids);
        record(y, () -> {
            Tensor dy = gradientOf(y);
            Tensor dTable = weightGradient(table);
            if (dy != null && dTable != null) {
                inner.embeddingBackward(dy, ids, dTable, paddingRows.getOrDefault(table.floatArray(), -1));
            }
        });
        return y;
    }

    /** While training the probabilities are kept: the backward needs them. */
    @Override
    public AttentionOutput attention(Tensor q, Tensor k, Tensor v, int heads, AttentionMask mask, float scale,
                                     boolean returnProbs) {
        AttentionOutput out = inner.attention(q, k, v, heads, mask, scale, returnProbs || training);
        record(out.context(), new Tensor[] {returnProbs ? null : out.probs()}, () -> {
            Tensor dContext = gradientOf(out.context());
            if (dContext != null) {
                addToGradients(new Tensor[] {q, k, v}, inner.attentionBackward(dContext, q, k, v, out.probs(), heads, scale));
            }
        });
        return returnProbs ? out : new AttentionOutput(out.context(), null);
    }

    @Override
    public Tensor gatherRows(Tensor x, long[] rows) {
        Tensor y = inner.gatherRows(x, rows);
        recordUnary(y, x, dy -> inner.gatherRowsBackward(dy, rows, x.dim(0)));
        return y;
    }

    @Override
    public Tensor scale(Tensor x, float factor) {
        Tensor y = inner.scale(x, factor);
        recordUnary(y, x, dy -> inner.scale(dy, factor));
        return y;
    }

    /** a·b element by element; backward: da = dy·b, db = dy·a. */
    @Override
    public Tensor multiply(Tensor a, Tensor b) {
        Tensor y = inner.multiply(a, b);
        record(y, () -> {
            Tensor dy = gradientOf(y);
            if (dy != null) {
                addToGradient(a, inner.multiply(dy, b));
                addToGradient(b, inner.multiply(dy, a));
            }
        });
        return y;
    }

    /**
     * In training: x times a mask that keeps each element with probability 1 − p, scaled by 1/(1 − p). Backward:
     * dx = dy·mask (the mask is a constant: it takes no gradient, and its array goes back after this step's backward).
     */
    @Override
    public Tensor dropout(Tensor x, float p) {
        if (!training || p <= 0) {
            return x;
        }
        Tensor mask = dropoutMask(x, p);
        Tensor y = inner.multiply(x, mask);
        record(y, new Tensor[] {mask}, () -> {
            Tensor dy = gradientOf(y);
            if (dy != null) {
                addToGradient(x, inner.multiply(dy, mask));
            }
        });
        return y;
    }

    /** A mask shaped like {@code like}: 0 with probability p, else 1/(1 − p); in a recycled array when one fits. */
    private Tensor dropoutMask(Tensor like, float p) {
        Tensor mask = inner.zeros(like.shape());
        float[] m = mask.floatArray();
        if (m == null || !mask.isContiguous()) {   // not a heap array (a huge one): fill a copy
            m = new float[Math.toIntExact(like.numel())];
            mask = null;
        }
        int off = mask == null ? 0 : (int) mask.arrayOffset(), n = Math.toIntExact(like.numel());
        float keep = p >= 1 ? 0 : 1 / (1 - p);
        for (int i = 0; i < n; i++) {
            m[off + i] = random.nextFloat() < p ? 0 : keep;
        }
        return mask != null ? mask : Tensor.of(m, like.shape());
    }

    /**
     * Attention with dropout on the probabilities, written out (HF's BertSelfAttention): P = softmax(scores),
     * context = dropout(P)·V per head. Backward (the backend's attentionBackward, given the mask): dV = P′ᵀ·dC,
     * dP = (dC·Vᵀ)·mask, dS = softmax′(dP)·scale, dQ = dS·K, dK = dSᵀ·Q.
     */
    @Override
    public AttentionOutput attention(Tensor q, Tensor k, Tensor v, int heads, AttentionMask mask, float scale,
                                     boolean returnProbs, float dropout) {
        if (!training || dropout <= 0) {
            return attention(q, k, v, heads, mask, scale, returnProbs);
        }
        AttentionOutput undropped = inner.attention(q, k, v, heads, mask, scale, true);
        inner.recycle(undropped.context());                                               // not used: P is
        Tensor probs = undropped.probs();                                                 // [B, h, Tq, Tk]
        Tensor keep = dropoutMask(probs, dropout);
        Tensor dropped = inner.multiply(probs, keep);
        Tensor vHeads = splitHeads(v, heads);                                             // [B, h, Tk, d]
        Tensor perHead = inner.matmul(dropped, vHeads);                                   // [B, h, Tq, d]
        Tensor context = mergeHeads(perHead);                                             // [B, Tq, C]
        if (context.floatArray() != perHead.floatArray()) {   // (a permute that stays contiguous keeps the array)
            inner.recycle(perHead);   // read by nothing else: the backward works from probs and keep
        }
        if (!returnProbs) {
            inner.recycle(dropped);
        }
        record(context, new Tensor[] {probs, keep}, () -> {
            Tensor dContext = gradientOf(context);
            if (dContext != null) {   // the fused backward, told the mask: dV = P′ᵀ·dC, dP = (dC·Vᵀ)·mask, …
                addToGradients(new Tensor[] {q, k, v}, inner.attentionBackward(dContext, q, k, v, probs, keep, heads, scale));
            }
        });
        return new AttentionOutput(context, returnProbs ? dropped : null);
    }

    /** [B, T, h·d] → [B, h, T, d], contiguous. */
    private static Tensor splitHeads(Tensor x, int heads) {
        int b = x.dim(0), t = x.dim(1), c = x.dim(2);
        return x.contiguous().reshape(b, t, heads, c / heads).permute(0, 2, 1, 3).contiguous();
    }

    /** [B, h, T, d] → [B, T, h·d], contiguous. */
    private static Tensor mergeHeads(Tensor x) {
        int b = x.dim(0), h = x.dim(1), t = x.dim(2), d = x.dim(3);
        return x.permute(0, 2, 1, 3).contiguous().reshape(b, t, h * d);
    }

    // ---------------------------------------------------------------- losses

    @Override
    public Tensor crossEntropy(Tensor logits, Tensor labels, int ignoreIndex) {
        Tensor loss = inner.crossEntropy(logits, labels, ignoreIndex);
        recordLoss(loss, logits, g -> inner.crossEntropyBackward(logits, labels, ignoreIndex, g));
        return loss;
    }

    @Override
    public Tensor mseLoss(Tensor input, Tensor target) {
        Tensor loss = inner.mseLoss(input, target);
        recordLoss(loss, input, g -> inner.mseLossBackward(input, target, g));
        return loss;
    }

    @Override
    public Tensor bceWithLogitsLoss(Tensor logits, Tensor target) {
        Tensor loss = inner.bceWithLogitsLoss(logits, target);
        recordLoss(loss, logits, g -> inner.bceWithLogitsLossBackward(logits, target, g));
        return loss;
    }
}
