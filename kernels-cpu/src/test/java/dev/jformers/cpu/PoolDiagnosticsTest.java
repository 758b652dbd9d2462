package dev.jformers.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;
import java.util.Random;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * The pool's diagnostics paths, which are static finals off by default: kernels-cpu's pom runs this class (and the pool
 * tests of SimdBackendSetupTest) a second time, in the "pool-diagnostics" execution, with
 * {@code -Djformers.cpu.poolStats=true -Djformers.cpu.yieldAfterMicros=1}. There every task must still run once,
 * failures reach the caller, a GEMM gives one thread's bits, and the counters count every job.
 */
class PoolDiagnosticsTest {

    @Test
    void countersCountEveryJobAndTheWorkIsUnchanged() {
        assumeTrue(WorkerPool.STATS, "runs in the pool-diagnostics execution (-D" + WorkerPool.STATS_PROPERTY + "=true)");
        assertTrue(WorkerPool.YIELD_NANOS > 0, "the pool-diagnostics execution also sets " + WorkerPool.YIELD_PROPERTY);
        long[] before = WorkerPool.Stats.snapshot();
        AtomicIntegerArray runs = new AtomicIntegerArray(64);
        try (WorkerPool pool = new WorkerPool(2)) {
            for (int call = 0; call < 50; call++) {
                pool.parallelFor(64, runs::incrementAndGet);
            }
            pool.parallelFor(1, runs::incrementAndGet);   // one task: always run alone
            IllegalStateException boom = new IllegalStateException("boom");
            assertSame(boom, assertThrows(IllegalStateException.class, () -> pool.parallelFor(8, t -> {
                if (t == 3) {
                    throw boom;
                }
            })));
        }
        for (int t = 0; t < runs.length(); t++) {
            assertEquals(t == 0 ? 51 : 50, runs.get(t), "task " + t);
        }
        long[] after = WorkerPool.Stats.snapshot();
        long handed = after[WorkerPool.Stats.JOBS_HANDED] - before[WorkerPool.Stats.JOBS_HANDED];
        long alone = after[WorkerPool.Stats.JOBS_ALONE] - before[WorkerPool.Stats.JOBS_ALONE];
        assertEquals(52, handed + alone, "every parallelFor is counted once, handed or alone");
        assertTrue(alone >= 1, "the one-task job ran alone");
    }

    @Test
    void gemmGivesOneThreadsBitsWithDiagnosticsOn() {
        assumeTrue(WorkerPool.STATS, "runs in the pool-diagnostics execution (-D" + WorkerPool.STATS_PROPERTY + "=true)");
        Random rnd = new Random(11);
        Tensor x = TestTensors.random(rnd, 1f, 300, 200), w = TestTensors.random(rnd, 1f, 130, 200);
        float[] one, two;
        try (SimdBackend simd = new SimdBackend(1, 0)) {
            one = simd.linear(x, simd.prepareLinear(w, null, WeightLayout.OUT_IN)).toFloatArray();
        }
        try (SimdBackend simd = new SimdBackend(2, 0)) {
            two = simd.linear(x, simd.prepareLinear(w, null, WeightLayout.OUT_IN)).toFloatArray();
        }
        assertArrayEquals(one, two);
    }
}
