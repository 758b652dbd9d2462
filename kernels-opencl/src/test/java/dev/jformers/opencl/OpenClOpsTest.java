package dev.jformers.opencl;

import dev.jformers.core.Activation;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.AttentionOutput;
import dev.jformers.core.Backend;
import dev.jformers.core.BackendProvider;
import dev.jformers.core.Backends;
import dev.jformers.core.DType;
import dev.jformers.core.JformersException;
import dev.jformers.core.LinearWeight;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;
import dev.jformers.cpu.ScalarBackend;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Every OpenCL operation against the scalar reference, on random shapes with odd sizes and tails. */
class OpenClOpsTest {
    static OpenClBackend cl;
    static final Backend REF = new ScalarBackend();
    final Random random = new Random(42);

    /** Per test, so that every test shows as skipped (with the reason) where OpenCL is missing. */
    @BeforeEach
    void backend() {
        cl = SharedOpenCl.backend();
    }

    Tensor rand(int... shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return Tensor.of(v, shape);
    }

    /** Compares a backend result (moved to the host) with the reference, |a − e| ≤ tol·(1 + |e|). */
    static void assertClose(Tensor expected, Tensor actual, double tol, String what) {
        Tensor a = cl.toHost(actual);
        assertFalse(a.storage() instanceof ClStorage, "toHost gives a host tensor");
        assertArrayEquals(expected.shape(), a.shape(), what + ": shape");
        float[] e = expected.toFloatArray(), g = a.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            double diff = Math.abs((double) e[i] - g[i]);
            if (!(diff <= tol * (1 + Math.abs(e[i]))) && !(Float.isInfinite(e[i]) && e[i] == g[i])) {
                fail(what + ": element " + i + " is " + g[i] + ", the reference gives " + e[i]);
            }
        }
    }

    // ---------------------------------------------------------------- memory

    @Test
    void uploadDownloadZerosAndViews() {
        Tensor h = rand(3, 5, 7);
        Tensor d = cl.upload(h);
        assertFalse(d.isHost());
        assertThrows(JformersException.class, d::segment);
        assertClose(h, d, 0, "round trip");
        assertClose(h.transpose(0, 2).contiguous(), d.transpose(0, 2), 0, "transposed view");
        assertClose(h.narrow(1, 1, 3).select(2, 4).contiguous(), d.narrow(1, 1, 3).select(2, 4), 0, "narrow/select view");
        assertClose(Tensor.zeros(DType.F32, 4, 9), cl.zeros(4, 9), 0, "zeros");
        Tensor big = cl.zeros(2, 10, 6);
        Tensor src = rand(2, 3, 6);
        cl.copyInto(src, big.narrow(1, 4, 3));                 // host → device view (KV cache append)
        cl.copyInto(cl.upload(src).transpose(0, 1).transpose(0, 1), big.narrow(1, 0, 3));
        Tensor expect = Tensor.zeros(DType.F32, 2, 10, 6);
        REF.copyInto(src, expect.narrow(1, 4, 3));
        REF.copyInto(src, expect.narrow(1, 0, 3));
        assertClose(expect, big, 0, "copyInto");
        // a view with more than 4 non-mergeable dimensions
        Tensor h6 = rand(2, 3, 2, 3, 2, 3);
        Tensor p = h6.permute(5, 4, 3, 2, 1, 0);
        assertClose(p.contiguous(), cl.upload(h6).permute(5, 4, 3, 2, 1, 0), 0, "6-d permute");
        assertClose(p.contiguous(), cl.upload(p), 0, "upload of a host view");
    }

    // ---------------------------------------------------------------- linear and matmul

    @ParameterizedTest(name = "rows {0}, in {1}, out {2}")
    @CsvSource({"1, 1, 1", "1, 32, 96", "7, 5, 3", "33, 31, 17", "64, 64, 64", "19, 100, 129", "2, 130, 33",
            "4, 16, 16", "5, 48, 50"})
    void linearMatchesReference(int rows, int in, int out) {
        boolean original = cl.cpuGemm;
        try {
            for (boolean cpuGemm : new boolean[] {false, true}) {   // both GEMM kernels, whatever the device
                cl.cpuGemm = cpuGemm;
                linearCase(rows, in, out, cpuGemm ? " [vector GEMM]" : " [tiled GEMM]");
            }
        } finally {
            cl.cpuGemm = original;
        }
    }

    void linearCase(int rows, int in, int out, String kernel) {
        for (WeightLayout layout : WeightLayout.values()) {
            for (boolean withBias : new boolean[] {true, false}) {
                Tensor w = layout == WeightLayout.OUT_IN ? rand(out, in) : rand(in, out);
                Tensor b = withBias ? rand(out) : null;
                Tensor x = rand(rows, in);
                LinearWeight ref = REF.prepareLinear(w, b, layout);
                Tensor expected = REF.linear(x, ref);
                LinearWeight fromHost = cl.prepareLinear(w, b, layout);
                LinearWeight fromDevice = cl.prepareLinear(cl.upload(w), b == null ? null : cl.upload(b), layout);
                String what = layout + (withBias ? " +bias" : "") + kernel;
                assertClose(expected, cl.linear(x, fromHost), 1e-4, what + " host x");
                assertClose(expected, cl.linear(cl.upload(x), fromDevice), 1e-4, what + " device x");
                // a strided device view: rows of a wider tensor
                Tensor wide = cl.upload(rand(rows, in + 3));
                Tensor view = wide.narrow(1, 2, in);
                assertClose(REF.linear(cl.toHost(view).contiguous(), ref), cl.linear(view, fromDevice), 1e-4, what + " view x");
            }
        }
        Tensor x3 = rand(2, 3, in);
        LinearWeight w = cl.prepareLinear(rand(out, in), rand(out), WeightLayout.OUT_IN);
        assertEquals(List.of(2, 3, out), java.util.Arrays.stream(cl.linear(x3, w).shape()).boxed().toList());
    }

    @ParameterizedTest(name = "batch {0}, M {1}, K {2}, N {3}")
    @CsvSource({"1, 1, 1, 1", "1, 7, 13, 5", "3, 33, 17, 40", "2, 64, 64, 64", "4, 5, 70, 9", "1, 3, 16, 16", "2, 9, 35, 47"})
    void matmulMatchesReference(int batch, int m, int k, int n) {
        boolean original = cl.cpuGemm;
        try {
            for (boolean cpuGemm : new boolean[] {false, true}) {
                cl.cpuGemm = cpuGemm;
                matmulCase(batch, m, k, n);
            }
        } finally {
            cl.cpuGemm = original;
        }
    }

    void matmulCase(int batch, int m, int k, int n) {
        Tensor a = rand(batch, m, k), b = rand(batch, k, n), bt = rand(batch, n, k), b2 = rand(k, n);
        assertClose(REF.matmul(a, b), cl.matmul(cl.upload(a), cl.upload(b)), 1e-4, "batched");
        assertClose(REF.matmul(a, bt.transpose(1, 2)), cl.matmul(cl.upload(a), cl.upload(bt).transpose(1, 2)), 1e-4,
                "transposed view");
        assertClose(REF.matmul(a, b2), cl.matmul(a, b2), 1e-4, "2-d b, host inputs");
        Tensor a4 = rand(2, batch, m, k), b4 = rand(2, batch, k, n);
        assertClose(REF.matmul(a4, b4), cl.matmul(cl.upload(a4), cl.upload(b4)), 1e-4, "4-d");
    }

    // ---------------------------------------------------------------- element-wise and rows

    @Test
    void addBroadcasts() {
        Tensor a = rand(2, 5, 7);
        for (Tensor b : new Tensor[] {rand(7), rand(5, 7), rand(2, 5, 7)}) {
            assertClose(REF.add(a, b), cl.add(cl.upload(a), cl.upload(b)), 1e-6, "add " + b);
        }
        Tensor wide = rand(2, 5, 9);
        Tensor view = cl.upload(wide).narrow(2, 1, 7);
        assertClose(REF.add(wide.narrow(2, 1, 7).contiguous(), a), cl.add(view, a), 1e-6, "strided a, host b");
        assertThrows(RuntimeException.class, () -> cl.add(cl.upload(a), rand(5)));
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void activationMatchesReference(Activation act) {
        Tensor x = rand(3, 37);
        float[] v = x.toFloatArray();
        v[0] = 8f;
        v[1] = -8f;
        v[2] = 0f;
        v[3] = 20f;
        v[4] = -20f;
        x = Tensor.of(v, 3, 37);
        assertClose(REF.activation(x, act), cl.activation(cl.upload(x), act), 1e-5, act.name());
        assertClose(REF.activation(x.transpose(0, 1).contiguous(), act),
                cl.activation(cl.upload(x).transpose(0, 1), act), 1e-5, act.name() + " transposed view");
    }

    @ParameterizedTest(name = "C = {0}")
    @CsvSource({"1", "7", "32", "65", "768", "1001"})
    void layerNormAndSoftmaxMatchReference(int c) {
        Tensor x = rand(3, 4, c), w = rand(c), b = rand(c);
        assertClose(REF.layerNorm(x, w, b, 1e-5f), cl.layerNorm(cl.upload(x), cl.upload(w), cl.upload(b), 1e-5f), 1e-4,
                "layerNorm");
        assertClose(REF.layerNorm(x, w, b, 1e-12f), cl.layerNorm(x, w, b, 1e-12f), 1e-4, "layerNorm host inputs");
        assertClose(REF.softmax(x), cl.softmax(cl.upload(x)), 1e-5, "softmax");
        float[] v = x.toFloatArray();
        for (int i = 0; i < c; i++) {
            v[i] = Float.NEGATIVE_INFINITY;          // a fully masked row → zeros
            v[c + i] = i % 2 == 0 ? -Float.MAX_VALUE : 1000f * i;
        }
        Tensor masked = Tensor.of(v, 3, 4, c);
        assertClose(REF.softmax(masked), cl.softmax(masked), 1e-5, "softmax masked");
    }

    @Test
    void embeddingGathersRows() {
        Tensor table = rand(11, 6);
        Tensor ids = Tensor.ofLongs(new long[] {0, 10, 3, 3, 7, 1}, 2, 3);
        Tensor dev = cl.upload(table);
        assertClose(REF.embedding(table, ids), cl.embedding(dev, ids), 0, "embedding I64");
        Tensor ids32 = Tensor.zeros(DType.I32, 4);
        assertClose(REF.embedding(table, ids32), cl.embedding(dev, ids32), 0, "embedding I32");
        assertClose(REF.embedding(table, ids.select(1, 2)), cl.embedding(dev, ids.select(1, 2)), 0, "embedding view of ids");
        JformersException e = assertThrows(JformersException.class,
                () -> cl.embedding(dev, Tensor.ofLongs(new long[] {11}, 1)));
        assertTrue(e.getMessage().contains("outside"), e.getMessage());
        long[] rows = {3, 0, 10, 3};   // a sentence head's first tokens: gathered on the device
        assertClose(REF.gatherRows(table, rows), cl.gatherRows(dev, rows), 0, "gatherRows");
        Tensor wide = rand(11, 9);   // rows 9 floats apart, 6 of them read from column 2
        assertClose(REF.gatherRows(wide.narrow(1, 2, 6), rows), cl.gatherRows(cl.upload(wide).narrow(1, 2, 6), rows), 0,
                "gatherRows of a view");
    }

    // ---------------------------------------------------------------- attention

    Tensor mask(int batch, int tk, int... padFrom) {
        long[] m = new long[batch * tk];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < tk; j++) {
                m[b * tk + j] = j < padFrom[b] ? 1 : 0;
            }
        }
        return Tensor.ofLongs(m, batch, tk);
    }

    void checkAttention(Tensor q, Tensor k, Tensor v, Tensor qd, Tensor kd, Tensor vd, int heads, AttentionMask refMask,
                        String what) {
        float scale = 0.37f;
        for (boolean probs : new boolean[] {true, false}) {
            AttentionOutput e = REF.attention(q, k, v, heads, refMask, scale, probs);
            AttentionOutput a = cl.attention(qd, kd, vd, heads, refMask, scale, probs);
            assertClose(e.context(), a.context(), 1e-5, what + " context");
            if (probs) {
                assertClose(e.probs(), a.probs(), 1e-5, what + " probs");
            } else {
                assertNull(a.probs());
            }
        }
    }

    @ParameterizedTest(name = "B {0}, T {1}, C {2}, heads {3}")
    @CsvSource({"1, 1, 4, 1", "2, 9, 32, 4", "3, 17, 24, 3", "1, 130, 64, 2", "2, 7, 40, 5"})
    void selfAttentionWithPaddingMatchesReference(int batch, int t, int c, int heads) {
        Tensor q = rand(batch, t, c), k = rand(batch, t, c), v = rand(batch, t, c);
        int[] padFrom = new int[batch];
        for (int b = 0; b < batch; b++) {
            padFrom[b] = Math.max(1, t - 2 * b);
        }
        Tensor m = mask(batch, t, padFrom);
        checkAttention(q, k, v, cl.upload(q), cl.upload(k), cl.upload(v), heads, AttentionMask.NONE, "no mask");
        checkAttention(q, k, v, cl.upload(q), cl.upload(k), cl.upload(v), heads, AttentionMask.padding(m), "padding");
        checkAttention(q, k, v, q, k, v, heads, AttentionMask.causal(m), "causal + padding, host inputs");
    }

    @Test
    void attentionOnFusedQkvViews() {
        int batch = 2, t = 11, c = 24, heads = 4;
        Tensor qkv = rand(batch, t, 3 * c);
        Tensor q = qkv.narrow(2, 0, c), k = qkv.narrow(2, c, c), v = qkv.narrow(2, 2 * c, c);
        Tensor d = cl.upload(qkv);
        checkAttention(q.contiguous(), k.contiguous(), v.contiguous(),
                d.narrow(2, 0, c), d.narrow(2, c, c), d.narrow(2, 2 * c, c), heads,
                AttentionMask.causal(null), "fused qkv views, causal");
        // a non-contiguous last dimension is gathered first
        Tensor qt = rand(batch, c, t);
        checkAttention(qt.transpose(1, 2).contiguous(), k.contiguous(), v.contiguous(),
                cl.upload(qt).transpose(1, 2), d.narrow(2, c, c), d.narrow(2, 2 * c, c), heads,
                AttentionMask.NONE, "transposed q");
    }

    @Test
    void causalAttentionOverAKvCacheWithFewerQueries() {
        int batch = 2, capacity = 20, past = 9, tq = 3, c = 16, heads = 2;
        int tk = past + tq;
        Tensor keys = rand(batch, capacity, c), values = rand(batch, capacity, c), q = rand(batch, tq, c);
        Tensor kd = cl.upload(keys).narrow(1, 0, tk), vd = cl.upload(values).narrow(1, 0, tk);
        Tensor kh = keys.narrow(1, 0, tk).contiguous(), vh = values.narrow(1, 0, tk).contiguous();
        // left padding in the second row, as in batched generation
        long[] m = new long[batch * tk];
        for (int j = 0; j < tk; j++) {
            m[j] = 1;
            m[tk + j] = j < 4 ? 0 : 1;
        }
        Tensor mask = Tensor.ofLongs(m, batch, tk);
        checkAttention(q, kh, vh, cl.upload(q), kd, vd, heads, AttentionMask.causal(null), "cache, causal");
        checkAttention(q, kh, vh, cl.upload(q), kd, vd, heads, AttentionMask.causal(mask), "cache, causal + left padding");
        // a query that sees only padded keys: its row is all −∞ and becomes zeros
        long[] none = new long[batch * tk];
        Tensor allPad = Tensor.ofLongs(none, batch, tk);
        checkAttention(q, kh, vh, cl.upload(q), kd, vd, heads, AttentionMask.causal(allPad), "fully masked rows");
    }

    // ---------------------------------------------------------------- devices and errors

    @Test
    void devicesAreListedAndSelectable() {
        List<String> devices = OpenClBackend.listDevices();
        assertFalse(devices.isEmpty());
        assertTrue(devices.getFirst().startsWith("0: "), devices.toString());
        JformersException e = assertThrows(JformersException.class, () -> Backends.create("opencl:7"));
        assertTrue(e.getMessage().contains("no OpenCL device '7'") && e.getMessage().contains("0: "), e.getMessage());
        BackendProvider p = Backends.providers().stream().filter(x -> x.name().equals("opencl")).findFirst().orElseThrow();
        assertNull(p.unavailableReason());
        assertTrue(p.priority() < 10, "the CPU backend stays the default");
        assertTrue(cl.describe().startsWith("opencl 0: ") || cl.describe().startsWith("opencl "), cl.describe());
    }

    @Test
    void buildErrorsCarryTheBuildLogAndHugeBuffersSayOutOfMemory() {
        // (PoCL's compiler prints "1 error generated." on the console here: expected)
        JformersException e = assertThrows(JformersException.class,
                () -> cl.build("__kernel void broken(__global float* x) { x[0] = undefined_name; }", ""));
        assertTrue(e.getMessage().contains("build log") && e.getMessage().contains("undefined_name"), e.getMessage());
        JformersException oom = assertThrows(JformersException.class, () -> cl.zeros(Integer.MAX_VALUE, 64));
        assertTrue(oom.getMessage().contains("out of memory"), oom.getMessage());
    }

    @Test
    void concurrentCallsOnOneBackend() throws Exception {
        Tensor w = rand(40, 33), x = rand(9, 33);
        LinearWeight lw = cl.prepareLinear(w, null, WeightLayout.OUT_IN);
        Tensor expected = REF.linear(x, REF.prepareLinear(w, null, WeightLayout.OUT_IN));
        Tensor xd = cl.upload(x);
        List<Thread> threads = new java.util.ArrayList<>();
        List<Throwable> errors = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        for (int i = 0; i < 4; i++) {
            Thread t = new Thread(() -> {
                try {
                    for (int r = 0; r < 20; r++) {
                        Tensor y = cl.linear(xd, lw);
                        cl.activation(y, Activation.RELU);      // interleave other kernels
                        assertClose(expected, y, 1e-4, "concurrent");
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            threads.add(t);
            t.start();
        }
        // temporaries that only the backend references while the GC runs all the time
        Thread gc = new Thread(() -> {
            for (int i = 0; i < 50; i++) {
                System.gc();
            }
        });
        gc.start();
        for (int r = 0; r < 50; r++) {
            assertClose(expected, cl.linear(cl.upload(x).transpose(0, 1).transpose(0, 1),
                    cl.prepareLinear(cl.upload(w), null, WeightLayout.OUT_IN)), 1e-4, "with GC");
        }
        gc.join();
        for (Thread t : threads) {
            t.join();
        }
        assertTrue(errors.isEmpty(), errors.toString());
    }
}
