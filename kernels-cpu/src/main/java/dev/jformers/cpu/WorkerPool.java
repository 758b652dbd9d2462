package dev.jformers.cpu;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed set of {@code threads} workers: the calling thread plus {@code threads − 1} daemon helpers
 * owned by this pool (never the ForkJoin common pool, so a backend doesn't fight other code for it).
 * {@link #parallelFor} hands out task indices through one atomic counter: the caller works too, so a
 * job finishes even if no helper is free (several callers at once, or a call after {@link #close}).
 */
final class WorkerPool implements AutoCloseable {
    private static final AtomicInteger POOL_IDS = new AtomicInteger();

    private final int threads;
    private final ExecutorService helpers;

    WorkerPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.helpers = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, daemonThreads());
    }

    private static ThreadFactory daemonThreads() {
        int pool = POOL_IDS.incrementAndGet();
        AtomicInteger ids = new AtomicInteger();
        return runnable -> {
            Thread t = new Thread(runnable, "jformers-cpu-" + pool + "-" + ids.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    int threads() {
        return threads;
    }

    /** Runs body(0) … body(tasks − 1) on up to {@code threads} threads and returns when all are done. */
    void parallelFor(int tasks, IntConsumer body) {
        if (tasks <= 0) {
            return;
        }
        if (helpers == null || tasks == 1) {
            for (int t = 0; t < tasks; t++) {
                body.accept(t);
            }
            return;
        }
        Job job = new Job(tasks, body, Thread.currentThread());
        try {
            for (int h = Math.min(threads, tasks) - 1; h > 0; h--) {
                helpers.execute(job);
            }
        } catch (RejectedExecutionException closed) {
            // The pool was closed: the caller does the remaining work alone.
        }
        job.run();
        job.awaitAll();
    }

    @Override
    public void close() {
        if (helpers != null) {
            helpers.shutdown();
        }
    }

    /** One parallelFor call: workers claim indices until none are left; the last one to finish wakes the caller. */
    private static final class Job implements Runnable {
        private final int tasks;
        private final IntConsumer body;
        private final Thread caller;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger finished = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(int tasks, IntConsumer body, Thread caller) {
            this.tasks = tasks;
            this.body = body;
            this.caller = caller;
        }

        @Override
        public void run() {
            for (int t; (t = next.getAndIncrement()) < tasks; ) {
                try {
                    if (failure.get() == null) {
                        body.accept(t);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    if (finished.incrementAndGet() == tasks) {
                        LockSupport.unpark(caller);
                    }
                }
            }
        }

        void awaitAll() {
            while (finished.get() < tasks) {
                LockSupport.park(this);
            }
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
