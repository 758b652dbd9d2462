package dev.jformers.benchmarks.models;

import dev.jformers.core.Activation;
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
 * on one thread (where the pool runs every task on the caller) the figures then hold on a loaded machine. The CPU backend computes synchronously, so each call's time is its whole cost including
 * allocating the output ({@code zeros} is counted separately only when the model calls it).
 */
public final class TimingBackend implements Backend {
    /** Calls, nanoseconds and Java heap bytes allocated (by the calling thread) of one operation key. */
    public record Cost(long calls, long nanos, long allocatedBytes) {
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

    /** Costs so far, by key. */
    public Map<String, Cost> costs() {
        Map<String, Cost> out = new TreeMap<>();
        costs.forEach((k, v) -> out.put(k, new Cost(v[0].sum(), v[1].sum(), v[2].sum())));
        return out;
    }

    private <T> T time(String key, Supplier<T> op) {
        if (!enabled) {
            return op.get();
        }
        long b0 = THREADS.getCurrentThreadAllocatedBytes();
        long t0 = now();
        T result = op.get();
        long dt = now() - t0;
        long bytes = THREADS.getCurrentThreadAllocatedBytes() - b0;
        LongAdder[] a = costs.computeIfAbsent(key, k -> new LongAdder[] {new LongAdder(), new LongAdder(), new LongAdder()});
        a[0].increment();
        a[1].add(dt);
        a[2].add(bytes);
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
    public Tensor addLayerNorm(Tensor x, Tensor residual, Tensor weight, Tensor bias, float eps) {
        return time("add+layerNorm " + rows(x), () -> delegate.addLayerNorm(x, residual, weight, bias, eps));
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
        String keys = q.dim(1) == 1 ? " Tk=all (decoding steps)" : " Tk=" + k.dim(1);
        String key = "attention B=" + q.dim(0) + " Tq=" + q.dim(1) + keys + (mask.causal() ? " causal" : "")
                + (mask.keyPadding() != null ? " padded" : "");
        return time(key, () -> delegate.attention(q, k, v, heads, mask, scale, returnProbs));
    }

    @Override
    public void close() {
        delegate.close();
    }
}
