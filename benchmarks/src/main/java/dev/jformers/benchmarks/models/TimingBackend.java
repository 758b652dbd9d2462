package dev.jformers.benchmarks.models;

import dev.jformers.core.Activation;
import dev.jformers.core.AdamWStep;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.AttentionOutput;
import dev.jformers.core.Backend;
import dev.jformers.core.LinearWeight;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * A {@link Backend} decorator that times every call of the backend it wraps (wall clock on the calling
 * thread, which waits for the work of the CPU backend's pool), by operation and shape: where a forward's
 * time goes. With {@code -Djformers.bench.cpuTime=true} it counts the calling thread's CPU time instead:
 * on one thread (where the pool runs every task on the caller) the figures then hold on a loaded machine. The CPU
 * backend computes synchronously, so each call's time is its whole cost including allocating the output
 * ({@code zeros} is counted separately only when the model calls it). The calling thread's CPU time is kept as
 * well. The training operations (backward kernels, losses, AdamW) are timed too, so that a training step under
 * {@code Autograd} can be profiled ({@link WhereTrainingTimeGoes}).
 */
public final class TimingBackend implements Backend {
    /** Calls, nanoseconds and Java heap bytes allocated (by the calling thread) of one operation key. */
    public record Cost(long calls, long nanos, long allocatedBytes, long cpuNanos, long extraNanos) {
    }

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();

    /** Count the calling thread's CPU time, not the wall clock (meaningful on one thread). */
    public static final boolean CPU_TIME = Boolean.getBoolean("jformers.bench.cpuTime");

    /** Nanoseconds of the clock in use: wall, or the calling thread's CPU time ({@link #CPU_TIME}). */
    public static long now() {
        return CPU_TIME ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
    }

    private final Backend delegate;
    private final Map<String, LongAdder[]> costs = new ConcurrentHashMap<>();
    private volatile boolean enabled = true;

    public TimingBackend(Backend delegate) {
        this.delegate = delegate;
    }

    public void enable(boolean on) {
        enabled = on;
    }

    public void reset() {
        costs.clear();
    }

    /** A second clock read around every timed call (null: none), such as the CPU time of another thread's tasks. */
    private volatile java.util.function.LongSupplier extraClock;

    /**
     * Also reads {@code clock} before and after every timed call and keeps the difference ({@link Cost#extraNanos}, the
     * trace's fourth element): for example the CPU time a CPU pool's helper spent in this call's tasks.
     */
    public void extraClock(java.util.function.LongSupplier clock) {
        extraClock = clock;
    }

    /** While on, every timed call also goes into a list in call order (key, nanoseconds): see {@link #takeTrace}. */
    private volatile java.util.List<Object[]> trace;

    /** Starts (or stops) recording each call in order, for per-position minima over many forwards. */
    public void trace(boolean on) {
        trace = on ? new java.util.ArrayList<>() : null;
    }

    /**
     * The calls recorded since the last take, in order, as {key, nanoseconds, the calling thread's CPU nanoseconds,
     * the {@link #extraClock} nanoseconds}; the list starts empty again.
     */
    public java.util.List<Object[]> takeTrace() {
        java.util.List<Object[]> t = trace;
        trace = t == null ? null : new java.util.ArrayList<>();
        return t == null ? java.util.List.of() : t;
    }

    /** Costs so far, by key. */
    public Map<String, Cost> costs() {
        Map<String, Cost> out = new TreeMap<>();
        costs.forEach((k, v) -> out.put(k, new Cost(v[0].sum(), v[1].sum(), v[2].sum(), v[3].sum(), v[4].sum())));
        return out;
    }

    private <T> T time(String key, Supplier<T> op) {
        if (!enabled) {
            return op.get();
        }
        java.util.function.LongSupplier extra = extraClock;
        long b0 = THREADS.getCurrentThreadAllocatedBytes();
        long e0 = extra == null ? 0 : extra.getAsLong();
        long c0 = THREADS.getCurrentThreadCpuTime();
        long t0 = now();
        T result = op.get();
        long dt = now() - t0;
        long cpu = THREADS.getCurrentThreadCpuTime() - c0;
        long extraNanos = extra == null ? 0 : extra.getAsLong() - e0;
        long bytes = THREADS.getCurrentThreadAllocatedBytes() - b0;
        LongAdder[] a = costs.computeIfAbsent(key, k -> new LongAdder[] {new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder()});
        a[0].increment();
        a[1].add(dt);
        a[2].add(bytes);
        a[3].add(cpu);
        a[4].add(extraNanos);
        java.util.List<Object[]> t = trace;
        if (t != null) {
            t.add(new Object[] {key, dt, cpu, extraNanos});
        }
        return result;
    }

    private static String rows(Tensor x) {
        long rows = x.numel() / x.dim(x.rank() - 1);
        return rows + "×" + x.dim(x.rank() - 1);
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public String describe() {
        return "timed " + delegate.describe();
    }

    @Override
    public Tensor upload(Tensor hostTensor) {
        return time("upload (load time)", () -> delegate.upload(hostTensor));
    }

    @Override
    public Tensor uploadIndices(Tensor hostTensor) {
        return time("uploadIndices", () -> delegate.uploadIndices(hostTensor));
    }

    @Override
    public Tensor toHost(Tensor t) {
        return time("toHost", () -> delegate.toHost(t));
    }

    @Override
    public Tensor zeros(int... shape) {
        return time("zeros (allocation)", () -> delegate.zeros(shape));
    }

    @Override
    public void copyInto(Tensor src, Tensor dst) {
        time("copyInto", () -> {
            delegate.copyInto(src, dst);
            return null;
        });
    }

    @Override
    public LinearWeight prepareLinear(Tensor weight, Tensor bias, WeightLayout layout) {
        return time("prepareLinear (load time)", () -> delegate.prepareLinear(weight, bias, layout));
    }

    @Override
    public LinearWeight repackLinear(LinearWeight previous, Tensor weight, Tensor bias, WeightLayout layout) {
        return time("repackLinear (after each optimizer step)", () -> delegate.repackLinear(previous, weight, bias, layout));
    }

    @Override
    public Tensor linear(Tensor x, LinearWeight w) {
        long m = x.numel() / x.dim(x.rank() - 1);
        return time("linear M×K×N " + m + "×" + w.inFeatures() + "×" + w.outFeatures(), () -> delegate.linear(x, w));
    }

    @Override
    public Tensor linear(Tensor x, LinearWeight w, Activation activation) {
        long m = x.numel() / x.dim(x.rank() - 1);
        return time("linear+" + activation + " M×K×N " + m + "×" + w.inFeatures() + "×" + w.outFeatures(),
                () -> delegate.linear(x, w, activation));
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        return time("matmul", () -> delegate.matmul(a, b));
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        return time("add " + rows(a), () -> delegate.add(a, b));
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, float eps) {
        return time("layerNorm " + rows(x), () -> delegate.layerNorm(x, weight, bias, eps));
    }

    @Override
    public dev.jformers.core.Scope scope() {
        return delegate.scope();
    }

    @Override
    public void recycle(Tensor t) {
        delegate.recycle(t);
    }

    @Override
    public void recycleCapacity(long floats) {
        delegate.recycleCapacity(floats);
    }

    @Override
    public Tensor addLayerNorm(Tensor x, Tensor residual, Tensor weight, Tensor bias, float eps) {
        return time("add+layerNorm " + rows(x), () -> delegate.addLayerNorm(x, residual, weight, bias, eps));
    }

    @Override
    public Tensor linearAddLayerNorm(Tensor x, LinearWeight w, float dropout, Tensor residual, Tensor weight, Tensor bias,
                                     float eps) {
        long m = x.numel() / x.dim(x.rank() - 1);
        return time("linear+add+layerNorm M×K×N " + m + "×" + w.inFeatures() + "×" + w.outFeatures(),
                () -> delegate.linearAddLayerNorm(x, w, dropout, residual, weight, bias, eps));
    }

    @Override
    public Tensor activation(Tensor x, Activation activation) {
        return time("activation " + activation + " " + rows(x), () -> delegate.activation(x, activation));
    }

    @Override
    public Tensor softmax(Tensor x) {
        return time("softmax " + rows(x), () -> delegate.softmax(x));
    }

    @Override
    public Tensor embedding(Tensor table, Tensor ids) {
        return time("embedding", () -> delegate.embedding(table, ids));
    }

    @Override
    public AttentionOutput attention(Tensor q, Tensor k, Tensor v, int heads, AttentionMask mask, float scale, boolean returnProbs) {
        // a decoding step's one query meets a growing cache: one row for all of them
        String keys = q.dim(1) == 1 && mask.causal() ? " Tk=all (decoding steps)" : " Tk=" + k.dim(1);
        String key = "attention B=" + q.dim(0) + " Tq=" + q.dim(1) + keys + (mask.causal() ? " causal" : "")
                + (mask.keyPadding() != null ? " padded" : "");
        return time(key, () -> delegate.attention(q, k, v, heads, mask, scale, returnProbs));
    }

    // ---------------------------------------------------------------- training

    @Override
    public boolean supportsTraining() {
        return delegate.supportsTraining();
    }

    @Override
    public Tensor dropout(Tensor x, float p) {
        return time("dropout " + rows(x), () -> delegate.dropout(x, p));
    }

    @Override
    public Tensor multiply(Tensor a, Tensor b) {
        return time("multiply " + rows(a), () -> delegate.multiply(a, b));
    }

    @Override
    public Tensor gatherRows(Tensor x, long[] rows) {
        return time("gatherRows", () -> delegate.gatherRows(x, rows));
    }

    @Override
    public Tensor scale(Tensor x, float factor) {
        return time("scale " + rows(x), () -> delegate.scale(x, factor));
    }

    @Override
    public Tensor crossEntropy(Tensor logits, Tensor labels, int ignoreIndex) {
        return time("crossEntropy", () -> delegate.crossEntropy(logits, labels, ignoreIndex));
    }

    @Override
    public Tensor mseLoss(Tensor input, Tensor target) {
        return time("mseLoss", () -> delegate.mseLoss(input, target));
    }

    @Override
    public Tensor bceWithLogitsLoss(Tensor logits, Tensor target) {
        return time("bceWithLogitsLoss", () -> delegate.bceWithLogitsLoss(logits, target));
    }

    @Override
    public void accumulate(Tensor dst, Tensor src) {
        time("accumulate " + (dst.isContiguous() ? "" : "strided ") + rows(dst), () -> {
            delegate.accumulate(dst, src);
            return null;
        });
    }

    @Override
    public Tensor linearBackward(Tensor dy, Tensor x, Tensor weight, WeightLayout layout, Tensor dWeight, Tensor dBias,
                                 boolean inputGradient) {
        long m = x.numel() / x.dim(x.rank() - 1);
        String key = "linearBackward M×K×N " + m + "×" + x.dim(x.rank() - 1) + "×" + dy.dim(dy.rank() - 1)
                + (inputGradient ? "" : " (no dx)");
        return time(key, () -> delegate.linearBackward(dy, x, weight, layout, dWeight, dBias, inputGradient));
    }

    @Override
    public Tensor layerNormBackward(Tensor dy, Tensor x, Tensor weight, float eps, Tensor dWeight, Tensor dBias) {
        return time("layerNormBackward " + rows(x), () -> delegate.layerNormBackward(dy, x, weight, eps, dWeight, dBias));
    }

    @Override
    public Tensor activationBackward(Tensor dy, Tensor x, Activation activation) {
        return time("activationBackward " + activation + " " + rows(x), () -> delegate.activationBackward(dy, x, activation));
    }

    @Override
    public Tensor softmaxBackward(Tensor dy, Tensor y) {
        return time("softmaxBackward " + rows(y), () -> delegate.softmaxBackward(dy, y));
    }

    @Override
    public Tensor[] attentionBackward(Tensor dContext, Tensor q, Tensor k, Tensor v, Tensor probs, int heads, float scale) {
        return time("attentionBackward B=" + q.dim(0) + " T=" + q.dim(1),
                () -> delegate.attentionBackward(dContext, q, k, v, probs, heads, scale));
    }

    @Override
    public Tensor[] attentionBackward(Tensor dContext, Tensor q, Tensor k, Tensor v, Tensor probs, Tensor keep, int heads,
                                      float scale) {
        return time("attentionBackward+dropout B=" + q.dim(0) + " T=" + q.dim(1),
                () -> delegate.attentionBackward(dContext, q, k, v, probs, keep, heads, scale));
    }

    @Override
    public void embeddingBackward(Tensor dy, Tensor ids, Tensor dTable, int paddingIdx) {
        time("embeddingBackward", () -> {
            delegate.embeddingBackward(dy, ids, dTable, paddingIdx);
            return null;
        });
    }

    @Override
    public Tensor gatherRowsBackward(Tensor dy, long[] rows, int n) {
        return time("gatherRowsBackward", () -> delegate.gatherRowsBackward(dy, rows, n));
    }

    @Override
    public Tensor crossEntropyBackward(Tensor logits, Tensor labels, int ignoreIndex, float gradOutput) {
        return time("crossEntropyBackward", () -> delegate.crossEntropyBackward(logits, labels, ignoreIndex, gradOutput));
    }

    @Override
    public Tensor mseLossBackward(Tensor input, Tensor target, float gradOutput) {
        return time("mseLossBackward", () -> delegate.mseLossBackward(input, target, gradOutput));
    }

    @Override
    public Tensor bceWithLogitsLossBackward(Tensor logits, Tensor target, float gradOutput) {
        return time("bceWithLogitsLossBackward", () -> delegate.bceWithLogitsLossBackward(logits, target, gradOutput));
    }

    @Override
    public void adamW(AdamWStep step, float[] w, float[] g, int off, float[] m, float[] v, int n) {
        time("adamW", () -> {
            delegate.adamW(step, w, g, off, m, v, n);
            return null;
        });
    }

    @Override
    public void close() {
        delegate.close();
    }
}
