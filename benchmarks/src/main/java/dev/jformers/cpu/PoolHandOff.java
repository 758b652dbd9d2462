package dev.jformers.cpu;

import dev.jformers.benchmarks.Machine;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The pool's hand-off alone, no model: jobs of 2 tasks that each busy-wait {@code task} µs, {@code gap} µs of caller-only
 * work between jobs (as a forward's serial part), on a 2-thread {@link WorkerPool}. Prints the wall time per job against
 * task + gap (both threads working from the start) and 2·task + gap (the caller alone), and the share of the tasks the
 * helper ran (0.5 when it is always there). For a quiet machine: under load the helper is descheduled for milliseconds
 * at a time and the caller runs hundreds of jobs alone (this session, load 4: the helper ran 5–30% of 5 µs tasks).
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp benchmarks.jar dev.jformers.cpu.PoolHandOff [task µs] [gap µs]
 * [jobs]}; add {@code -Djformers.cpu.poolStats=true} to see when the helper arrives ({@link WorkerPool.Stats}), which
 * adds two CPU-clock reads (1–3 µs on this VM) to every task.
 */
public final class PoolHandOff {
    private PoolHandOff() {
    }

    public static void main(String[] args) {
        System.out.println(Machine.describe());
        long task = (long) (Double.parseDouble(args.length > 0 ? args[0] : "5") * 1000);
        long gap = (long) (Double.parseDouble(args.length > 1 ? args[1] : "2") * 1000);
        int jobs = args.length > 2 ? Integer.parseInt(args[2]) : 20_000;
        Thread caller = Thread.currentThread();
        try (WorkerPool pool = new WorkerPool(2)) {
            for (int round = 0; round < 5; round++) {
                AtomicInteger helperTasks = new AtomicInteger();
                long[] s0 = WorkerPool.Stats.snapshot();
                long t0 = System.nanoTime();
                for (int i = 0; i < jobs; i++) {
                    pool.parallelFor(2, t -> {
                        if (Thread.currentThread() != caller) {
                            helperTasks.incrementAndGet();
                        }
                        spin(task);
                    });
                    spin(gap);
                }
                double perJob = (System.nanoTime() - t0) / 1e3 / jobs;
                long[] s1 = WorkerPool.Stats.snapshot();
                StringBuilder arrivals = new StringBuilder();
                if (WorkerPool.STATS) {
                    int first = WorkerPool.Stats.ARRIVED_WITHIN_1US;
                    arrivals.append(String.format(Locale.ROOT, "; helper arrived within 1 / 1–10 / 10–100 / >100 µs: %d / %d / %d / %d jobs",
                            s1[first] - s0[first], s1[first + 1] - s0[first + 1], s1[first + 2] - s0[first + 2], s1[first + 3] - s0[first + 3]));
                }
                System.out.printf(Locale.ROOT, "%.2f µs per job (both threads: %.1f, caller alone: %.1f); helper ran %.2f of the tasks%s%n",
                        perJob, (task + gap) / 1e3, (2 * task + gap) / 1e3, helperTasks.get() / (2.0 * jobs), arrivals);
            }
        }
    }

    private static void spin(long nanos) {
        long start = System.nanoTime();
        while (System.nanoTime() - start < nanos) {
            Thread.onSpinWait();
        }
    }
}
