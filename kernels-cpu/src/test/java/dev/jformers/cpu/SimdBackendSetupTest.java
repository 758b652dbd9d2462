package dev.jformers.cpu;

import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.JformersException;
import dev.jformers.core.LinearWeight;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.jformers.cpu.TestTensors.assertClose;
import static dev.jformers.cpu.TestTensors.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Registration, configuration, the worker pool, and sharing one backend between threads. */
class SimdBackendSetupTest {

    @Test
    void cpuIsRegisteredAndIsTheDefault() {
        try (Backend named = Backends.create("cpu", 1); Backend byDefault = Backends.create(null, 1)) {
            assertInstanceOf(SimdBackend.class, named);
            assertInstanceOf(SimdBackend.class, byDefault);
            assertEquals(1, ((SimdBackend) named).threads());
        }
        try (Backend scalar = Backends.create("scalar")) {
            assertInstanceOf(ScalarBackend.class, scalar);
        }
    }

    @Test
    void widthComesFromTheSystemPropertyOrThePreferredSpecies() {
        String old = System.getProperty(SimdBackend.BITS_PROPERTY);
        try {
            System.setProperty(SimdBackend.BITS_PROPERTY, "scalar");
            assertEquals(SimdBackend.SCALAR_BITS, SimdBackend.defaultBits());
            System.setProperty(SimdBackend.BITS_PROPERTY, "256");
            try (SimdBackend b = new SimdBackend()) {
                assertEquals(256, b.vectorBits());
                assertTrue(b.describe().contains("256-bit"), b.describe());
            }
            System.setProperty(SimdBackend.BITS_PROPERTY, "100");
            assertThrows(JformersException.class, SimdBackend::defaultBits);
            System.clearProperty(SimdBackend.BITS_PROPERTY);
            int preferred = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
            assertEquals(Math.min(preferred, 512), SimdBackend.defaultBits());
        } finally {
            if (old == null) {
                System.clearProperty(SimdBackend.BITS_PROPERTY);
            } else {
                System.setProperty(SimdBackend.BITS_PROPERTY, old);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new SimdBackend(1, 64));
        assertThrows(IllegalArgumentException.class, () -> new SimdBackend(-1, 0));
    }

    @Test
    void weightsPreparedByAnotherBackendAreRejected() {
        try (SimdBackend wide = new SimdBackend(1, 512); SimdBackend narrow = new SimdBackend(1, 128)) {
            LinearWeight w = wide.prepareLinear(Tensor.zeros(dev.jformers.core.DType.F32, 3, 2), null, WeightLayout.OUT_IN);
            Tensor x = Tensor.zeros(dev.jformers.core.DType.F32, 1, 2);
            assertThrows(JformersException.class, () -> narrow.linear(x, w));
            LinearWeight scalar = new ScalarBackend().prepareLinear(Tensor.zeros(dev.jformers.core.DType.F32, 3, 2), null,
                    WeightLayout.OUT_IN);
            assertThrows(JformersException.class, () -> wide.linear(x, scalar));
        }
    }

    @Test
    void poolRunsEveryTaskOnceAndPassesFailuresToTheCaller() {
        WorkerPool pool = new WorkerPool(2);
        AtomicInteger[] runs = new AtomicInteger[1000];
        for (int i = 0; i < runs.length; i++) {
            runs[i] = new AtomicInteger();
        }
        pool.parallelFor(runs.length, t -> runs[t].incrementAndGet());
        for (AtomicInteger r : runs) {
            assertEquals(1, r.get());
        }
        IllegalStateException boom = new IllegalStateException("boom");
        assertSame(boom, assertThrows(IllegalStateException.class, () -> pool.parallelFor(10, t -> {
            if (t == 7) {
                throw boom;
            }
        })));
        pool.close();
        AtomicInteger after = new AtomicInteger();
        pool.parallelFor(5, t -> after.incrementAndGet());   // closed: the caller does the work alone
        assertEquals(5, after.get());
    }

    @Test
    void helperThreadsAreDaemons() throws Exception {
        try (WorkerPool pool = new WorkerPool(2)) {
            List<Thread> seen = new ArrayList<>();
            pool.parallelFor(64, t -> {
                synchronized (seen) {
                    seen.add(Thread.currentThread());
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            for (Thread t : seen) {
                assertTrue(t == Thread.currentThread() || t.isDaemon(), t.getName());
            }
        }
    }

    @Test
    void concurrentCallersGetCorrectResults() throws Exception {
        Random rnd = new Random(3);
        Tensor w = random(rnd, 1f, 200, 300), b = random(rnd, 1f, 200);
        ScalarBackend reference = new ScalarBackend();
        try (SimdBackend simd = new SimdBackend(2, 0)) {
            LinearWeight packed = simd.prepareLinear(w, b, WeightLayout.OUT_IN);
            LinearWeight ref = reference.prepareLinear(w, b, WeightLayout.OUT_IN);
            List<Tensor> inputs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                inputs.add(random(rnd, 1f, 1 + 37 * i, 300));
            }
            ExecutorService callers = Executors.newFixedThreadPool(4);
            try {
                List<Future<Tensor>> results = new ArrayList<>();
                for (Tensor x : inputs) {
                    results.add(callers.submit(() -> simd.linear(x, packed)));
                }
                for (int i = 0; i < inputs.size(); i++) {
                    assertClose(reference.linear(inputs.get(i), ref), results.get(i).get(), 1e-5, 1e-5, "caller " + i);
                }
            } finally {
                callers.shutdown();
            }
        }
    }
}
