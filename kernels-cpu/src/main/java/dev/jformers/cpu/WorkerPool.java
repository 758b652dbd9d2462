package dev.jformers.cpu;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed set of {@code threads} workers: the calling thread plus {@code threads − 1} daemon helpers
 * owned by this pool (never the ForkJoin common pool, so a backend doesn't fight other code for it).
 *
 * <p>A forward pass makes hundreds of short parallel calls (a decoding step's 768 × 768 GEMV takes
 * about 50 µs), and waking a parked thread costs tens of µs on this kind of VM. So a helper that has
 * finished a job spins for {@link #SPIN_NANOS} waiting for the next one before it parks, as the
 * OpenMP runtimes and ONNX Runtime's intra-op threads do; an idle pool costs nothing after that.
 *
 * <p>{@link #parallelFor} publishes one job at a time in a slot; tasks are claimed through one atomic
 * counter and the caller works too. A second caller that finds the slot taken (another thread's job,
 * or a parallelFor nested in a task) runs its own tasks alone, so nothing can deadlock or wait on a
 * busy pool, and a job still finishes after {@link #close}.
 */
final class WorkerPool implements AutoCloseable {
    private static final AtomicInteger POOL_IDS = new AtomicInteger();

    /**
     * How long a helper (and a caller waiting for helpers) spins before parking: 200 µs, or the system property
     * {@value #SPIN_PROPERTY} in µs (for A/B runs: a thread that parks pays tens of µs to wake, and a helper that
     * starts late leaves the next job unbalanced).
     */
    static final long SPIN_NANOS = Math.max(0, Long.getLong(WorkerPool.SPIN_PROPERTY, 200)) * 1000;

    /**
     * Off by default (0): how long a spinning thread (a helper waiting for a job, a caller waiting for its helper) spins
     * with {@code Thread.onSpinWait} before it spins with {@code Thread.yield} instead, in µs, from the system property
     * {@value #YIELD_PROPERTY}. On a loaded machine the scheduler may put the caller and the helper on one core, and then
     * each one's spinning takes the core from the other: the caller's tasks ran at half speed (benchmarks' PoolHandOff,
     * docs/benchmarks-models.md "Tenth session … #20i"). A yield hands the core to the other thread when it waits on the
     * same core, and costs a system call per turn when it does not: for an A/B on a quiet machine before any default.
     */
    static final long YIELD_NANOS = Math.max(0, Long.getLong(WorkerPool.YIELD_PROPERTY, 0)) * 1000;

    /** System property: {@link #YIELD_NANOS} in microseconds. */
    static final String YIELD_PROPERTY = "jformers.cpu.yieldAfterMicros";

    /**
     * A turn of a spin that began at {@code since} (System.nanoTime): onSpinWait, or a yield past {@link #YIELD_NANOS}
     * when that is set (so a YIELD_NANOS at or above {@link #SPIN_NANOS} never yields). False, without spinning, once
     * the spin has lasted {@link #SPIN_NANOS}: time to park. One clock read a turn.
     */
    private static boolean spinTurn(long since) {
        long spun = System.nanoTime() - since;
        if (spun >= SPIN_NANOS) {
            return false;
        }
        if (YIELD_NANOS > 0 && spun >= YIELD_NANOS) {
            Thread.yield();
        } else {
            Thread.onSpinWait();
        }
        return true;
    }

    /** System property: {@link #SPIN_NANOS} in microseconds. */
    static final String SPIN_PROPERTY = "jformers.cpu.spinMicros";

    /**
     * Diagnostics for the 2-thread budget of a forward (benchmarks' {@code PoolBudget}): with the system property
     * {@value #STATS_PROPERTY} = true, every parallelFor counts into {@link Stats} — jobs handed to the helpers and jobs
     * run alone, each task's CPU time and wall time on the caller and on the helper, when the helper first looked at a
     * job, jobs it took no task of. A static final false (the default) lets the JIT drop every branch: no cost. With
     * it on, each task reads the thread's CPU clock twice (about a µs): for budgets, not for timings.
     */
    static final boolean STATS = Boolean.getBoolean(WorkerPool.STATS_PROPERTY);

    /** System property: {@code true} turns {@link #STATS} on. */
    static final String STATS_PROPERTY = "jformers.cpu.poolStats";

    /** What {@link #STATS} counts, over all pools of the process (meant for a process with one 2-thread pool). */
    static final class Stats {
        static final String[] NAMES = {"jobs handed to the helper", "jobs run alone", "caller's task CPU, µs",
                "helper's task CPU, µs", "helper's arrival after publishing, µs (summed)", "jobs the helper took no task of",
                "caller waiting for the helper, µs", "caller's task wall, µs", "helper's task wall, µs",
                "jobs run alone: CPU, µs", "handed jobs: wall from publishing to joined, µs", "|caller's − helper's task wall|, µs",
                "jobs the helper arrived at within 1 µs", "… within 1–10 µs", "… within 10–100 µs", "… after 100 µs or more"};
        /** Indices into {@link #NAMES} and {@link #snapshot()}. */
        static final int JOBS_HANDED = 0, JOBS_ALONE = 1, CALLER_TASK_CPU = 2, HELPER_TASK_CPU = 3, HELPER_IDLE_JOBS = 5,
                ALONE_TASK_CPU = 9, ARRIVED_WITHIN_1US = 12;

        /** Whether counter {@code index} counts jobs (the others are times in ns). */
        static boolean countsJobs(int index) {
            return index == JOBS_HANDED || index == JOBS_ALONE || index == HELPER_IDLE_JOBS || index >= ARRIVED_WITHIN_1US;
        }

        static final LongAdder HANDED = new LongAdder(), ALONE = new LongAdder(), CALLER_CPU = new LongAdder(),
                HELPER_CPU = new LongAdder(), ARRIVAL = new LongAdder(), HELPER_IDLE = new LongAdder(), AWAIT = new LongAdder(),
                CALLER_WALL = new LongAdder(), HELPER_WALL = new LongAdder(), ALONE_CPU = new LongAdder(),
                JOB_WALL = new LongAdder(), IMBALANCE = new LongAdder();
        /** Jobs by the helper's arrival after publishing: below 1 µs, 10 µs, 100 µs, later. */
        static final LongAdder[] ARRIVED_WITHIN = {new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder()};
        static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

        private Stats() {
        }

        /** The counters in the order of {@link #NAMES} (times in ns). */
        static long[] snapshot() {
            return new long[] {HANDED.sum(), ALONE.sum(), CALLER_CPU.sum(), HELPER_CPU.sum(), ARRIVAL.sum(), HELPER_IDLE.sum(),
                    AWAIT.sum(), CALLER_WALL.sum(), HELPER_WALL.sum(), ALONE_CPU.sum(), JOB_WALL.sum(), IMBALANCE.sum(),
                    ARRIVED_WITHIN[0].sum(), ARRIVED_WITHIN[1].sum(), ARRIVED_WITHIN[2].sum(), ARRIVED_WITHIN[3].sum()};
        }

        static void handed(Job job, long awaitStart) {
            long end = System.nanoTime();
            HANDED.increment();
            AWAIT.add(end - awaitStart);
            JOB_WALL.add(end - job.published);
            CALLER_CPU.add(job.callerCpu);
            HELPER_CPU.add(job.helperCpu);
            CALLER_WALL.add(job.callerWall);
            HELPER_WALL.add(job.helperWall);
            IMBALANCE.add(Math.abs(job.callerWall - job.helperWall));
            if (job.helperArrived == 0 || job.helperWall == 0) {
                HELPER_IDLE.increment();
            }
            if (job.helperArrived != 0) {
                long arrival = job.helperArrived - job.published;
                ARRIVAL.add(arrival);
                ARRIVED_WITHIN[arrival < 1_000 ? 0 : arrival < 10_000 ? 1 : arrival < 100_000 ? 2 : 3].increment();
            }
        }
    }

    private final int threads;
    private final Helper[] helpers;
    private final AtomicReference<Job> slot = new AtomicReference<>();
    private volatile boolean closed;
    private volatile boolean started;
    private final AtomicLong jobIds = new AtomicLong();

    WorkerPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.helpers = new Helper[threads - 1];
    }

    /** Starts the helpers on the first parallel call, so that a backend that never needs them costs no threads. */
    private synchronized void startHelpers() {
        if (helpers.length > 0 && helpers[0] == null) {
            int pool = POOL_IDS.incrementAndGet();
            for (int h = 0; h < helpers.length; h++) {
                helpers[h] = new Helper("jformers-cpu-" + pool + "-" + (h + 1));
                helpers[h].start();
            }
            started = true;
        }
    }

    int threads() {
        return threads;
    }

    /** Runs body(0) … body(tasks − 1) on up to {@code threads} threads and returns when all are done. */
    void parallelFor(int tasks, IntConsumer body) {
        if (tasks <= 0) {
            return;
        }
        if (!started && helpers.length > 0 && tasks > 1) {
            startHelpers();
        }
        Job job = new Job(jobIds.incrementAndGet(), tasks, body, Thread.currentThread());
        if (STATS) {
            job.published = System.nanoTime();   // before the slot is written: a helper that takes it times its tasks
        }
        if (helpers.length == 0 || tasks == 1 || closed || !slot.compareAndSet(null, job)) {
            long cpu = 0;
            if (STATS) {
                job.published = 0;   // never handed: its tasks are not timed one by one
                cpu = Stats.MX.getCurrentThreadCpuTime();
            }
            job.run();   // alone: no helpers, one task, or the helpers are busy with another caller's job
            if (STATS) {
                Stats.ALONE.increment();
                Stats.ALONE_CPU.add(Stats.MX.getCurrentThreadCpuTime() - cpu);
            }
            job.rethrow();
            return;
        }
        try {
            for (Helper h : helpers) {
                if (h.parked) {   // read after the slot was written: a helper parks only after re-reading it
                    LockSupport.unpark(h);
                }
            }
            job.run();
            long awaitStart = STATS ? System.nanoTime() : 0;
            job.awaitAll();
            if (STATS) {
                Stats.handed(job, awaitStart);
            }
        } finally {
            slot.set(null);
        }
        job.rethrow();
    }

    /** body(0) … body(n − 1): split between the threads when {@code parallel}, else in order on the caller. */
    void forEach(int n, boolean parallel, IntConsumer body) {
        if (parallel) {
            parallelFor(n, body);
        } else {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        if (started) {
            for (Helper h : helpers) {
                LockSupport.unpark(h);
            }
        }
    }

    private final class Helper extends Thread {
        volatile boolean parked;

        Helper(String name) {
            super(name);
            setDaemon(true);
        }

        @Override
        public void run() {
            long last = 0;   // the id of the last job run: ids, not references, so no finished job is kept alive
            long idleSince = System.nanoTime();
            while (!closed) {
                Job job = slot.get();
                if (job != null && job.id != last) {
                    last = job.id;
                    job.run();
                    idleSince = System.nanoTime();
                } else if (!spinTurn(idleSince)) {   // spun long enough: park
                    parked = true;
                    job = slot.get();
                    if ((job == null || job.id == last) && !closed) {
                        LockSupport.park(WorkerPool.this);
                    }
                    parked = false;
                    idleSince = System.nanoTime();
                }
            }
        }
    }

    /** One parallelFor call: workers claim indices until none are left; the last one to finish wakes the caller. */
    private static final class Job {
        private final int tasks;
        private final IntConsumer body;
        private final Thread caller;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger finished = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private volatile boolean callerParked;
        private final long id;
        /** {@link #STATS} only (ns): when published, when the helper first ran it; task CPU and wall per side. */
        private volatile long published, helperArrived, callerCpu, helperCpu, callerWall, helperWall;

        Job(long id, int tasks, IntConsumer body, Thread caller) {
            this.id = id;
            this.tasks = tasks;
            this.body = body;
            this.caller = caller;
        }

        /** Claims and runs tasks until none are left, on the caller or a helper. */
        void run() {
            boolean timed = STATS && published != 0;   // a handed job, counted for Stats
            boolean onCaller = timed && Thread.currentThread() == caller;
            if (timed && !onCaller) {
                helperArrived = System.nanoTime();
            }
            for (int t; (t = next.getAndIncrement()) < tasks; ) {
                try {
                    if (failure.get() != null) {
                        continue;   // a task failed: the rest are only counted as finished
                    }
                    if (timed) {
                        timedTask(t, onCaller);
                    } else {
                        body.accept(t);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    if (finished.incrementAndGet() == tasks && callerParked) {
                        LockSupport.unpark(caller);
                    }
                }
            }
        }

        /** body(t) with its CPU and wall time added to the caller's or the helper's side ({@link #STATS}; one helper). */
        private void timedTask(int t, boolean onCaller) {
            long cpu = Stats.MX.getCurrentThreadCpuTime(), wall = System.nanoTime();
            body.accept(t);
            cpu = Stats.MX.getCurrentThreadCpuTime() - cpu;
            wall = System.nanoTime() - wall;
            if (onCaller) {
                callerCpu += cpu;
                callerWall += wall;
            } else {
                helperCpu += cpu;
                helperWall += wall;
            }
        }

        /** Spins a little (the helpers are usually about to finish), then parks until the last task is done. */
        void awaitAll() {
            long start = System.nanoTime();
            while (finished.get() < tasks) {
                if (!spinTurn(start)) {   // spun long enough: park
                    callerParked = true;
                    if (finished.get() < tasks) {
                        LockSupport.parkNanos(this, 1_000_000);
                    }
                }
            }
        }

        void rethrow() {
            Throwable e = failure.get();
            if (e instanceof RuntimeException re) {
                throw re;
            }
            if (e instanceof Error err) {
                throw err;
            }
            if (e != null) {
                throw new IllegalStateException(e);
            }
        }
    }
}
