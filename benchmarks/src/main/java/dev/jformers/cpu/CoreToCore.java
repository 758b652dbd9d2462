package dev.jformers.cpu;

import dev.jformers.benchmarks.Machine;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How far apart the two CPUs of this VM are: a cache line bounced between a thread pinned to CPU 0 and one pinned to
 * CPU 1 (round trip, ns), and the rate at which one core reads 512 KB that the other has just written (GB/s) — what a
 * 2-thread forward does whenever an operation reads the rows or columns the other core wrote. Two vCPUs on one
 * core complex (a shared L3) answer in about 100 ns; on two complexes the line crosses the fabric. The hypervisor may
 * place the vCPUs differently from one minute to the next, so run it next to the forwards it should explain.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp benchmarks.jar dev.jformers.cpu.CoreToCore [samples]}: the probe
 * and, from each CPU, the latency of a dependent load from memory and a 256 MB read; {@code CoreToCore probe}: the
 * probe's line alone (compare.sh and quiet-run.sh print it before and after their runs); {@link #probe} for other tools.
 */
public final class CoreToCore {
    private CoreToCore() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("probe")) {   // one line, for scripts (compare.sh, quiet-run.sh)
            System.out.println(probe());
            return;
        }
        System.out.println(Machine.describe());
        int samples = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int[] chain = chain(64 << 20);   // 256 MB: a random cycle through it, far past the L3
        for (int s = 0; s < samples; s++) {
            System.out.println(probe());
            System.out.printf(Locale.ROOT, "  memory from each CPU: a dependent load %.0f / %.0f ns (CPU 0 / 1); a 256 MB sum %.1f / %.1f GB/s%n",
                    onCpu(0, () -> chase(chain)), onCpu(1, () -> chase(chain)), onCpu(0, () -> stream(chain)), onCpu(1, () -> stream(chain)));
            Thread.sleep(200);
        }
    }

    /** A random cyclic permutation of n ints (Sattolo): next = chain[i] visits every index once. */
    private static int[] chain(int n) {
        int[] c = new int[n];
        for (int i = 0; i < n; i++) {
            c[i] = i;
        }
        java.util.Random rnd = new java.util.Random(7);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i), t = c[i];
            c[i] = c[j];
            c[j] = t;
        }
        return c;
    }

    /** ns per load of a chase through {@code chain} (2 million dependent loads: DRAM latency, TLB misses included). */
    private static double chase(int[] chain) {
        int i = 0, n = 2_000_000;
        long t0 = System.nanoTime();
        for (int k = 0; k < n; k++) {
            i = chain[i];
        }
        long dt = System.nanoTime() - t0;
        return i == -1 ? -1 : dt / (double) n;
    }

    /** GB/s of a vector sum over all of {@code chain} (1 GB/s = 1e9 bytes), the best of 3. */
    private static double stream(int[] data) {
        long best = Long.MAX_VALUE;
        int sink = 0;
        for (int rep = 0; rep < 3; rep++) {
            long t0 = System.nanoTime();
            var acc = jdk.incubator.vector.IntVector.zero(jdk.incubator.vector.IntVector.SPECIES_512);
            for (int i = 0; i < data.length; i += 16) {
                acc = acc.add(jdk.incubator.vector.IntVector.fromArray(jdk.incubator.vector.IntVector.SPECIES_512, data, i));
            }
            sink += acc.reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
            best = Math.min(best, System.nanoTime() - t0);
        }
        return sink == 42 ? -1 : data.length * 4.0 / best;
    }

    /** What {@code what} returns when run on a thread pinned to CPU {@code cpu}. */
    private static double onCpu(int cpu, java.util.function.DoubleSupplier what) throws InterruptedException {
        double[] out = new double[1];
        Thread t = new Thread(() -> {
            pinSelf(cpu);
            out[0] = what.getAsDouble();
        });
        t.start();
        t.join();
        return out[0];
    }

    /** One line: the round trip of a cache line between CPUs 0 and 1, and the written-then-read rate both ways. */
    public static String probe() throws Exception {
        double rt = roundTrip(2_000, 41);
        double ab = transfer(0, 1), ba = transfer(1, 0), local = transfer(0, 0);
        return String.format(Locale.ROOT, "core-to-core: round trip %.0f ns; 512 KB written on one CPU, read on the other: %.1f / %.1f GB/s "
                + "(0→1 / 1→0; on the same CPU %.1f)", rt, ab, ba, local);
    }

    /** The least over {@code batches} of the mean round trip (ns) of {@code n} ping-pongs of one counter, CPU 0 ↔ CPU 1. */
    static double roundTrip(int n, int batches) throws Exception {
        AtomicLong ball = new AtomicLong();
        double[] means = new double[batches];
        Thread pong = new Thread(() -> {
            pinSelf(1);
            for (long v = 1; v < 2L * n * (batches + 1); v += 2) {   // answers odd with even
                while (ball.get() != v) {
                    Thread.onSpinWait();
                }
                ball.set(v + 1);
            }
        });
        pong.setDaemon(true);
        pong.start();
        Thread ping = new Thread(() -> {
            pinSelf(0);
            long v = 0;
            for (int b = -1; b < batches; b++) {   // batch -1 warms up
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    ball.set(v + 1);
                    while (ball.get() != v + 2) {
                        Thread.onSpinWait();
                    }
                    v += 2;
                }
                if (b >= 0) {
                    means[b] = (System.nanoTime() - t0) / (double) n;
                }
            }
        });
        ping.start();
        ping.join();
        pong.join();
        Arrays.sort(means);
        return means[0];   // the quietest batch: another thread on either CPU stretches a batch, never shortens it
    }

    /** GB/s at which a thread on CPU {@code reader} sums 512 KB that a thread on CPU {@code writer} has just written (best of 20). */
    static double transfer(int writer, int reader) throws Exception {
        int[] data = new int[128 * 1024];
        AtomicLong turn = new AtomicLong();   // even: the writer's turn, odd: the reader's
        int rounds = 21;
        long[] best = {Long.MAX_VALUE};
        Thread w = new Thread(() -> {
            pinSelf(writer);
            for (int r = 0; r < rounds; r++) {
                while (turn.get() != 2L * r) {
                    Thread.onSpinWait();
                }
                for (int i = 0; i < data.length; i++) {
                    data[i] = r + i;
                }
                turn.set(2L * r + 1);
            }
        });
        int[] sink = new int[1];
        Thread rd = new Thread(() -> {
            pinSelf(reader);
            for (int r = 0; r < rounds; r++) {
                while (turn.get() != 2L * r + 1) {
                    Thread.onSpinWait();
                }
                long t0 = System.nanoTime();
                var acc = jdk.incubator.vector.IntVector.zero(jdk.incubator.vector.IntVector.SPECIES_512);
                for (int i = 0; i < data.length; i += 16) {   // a vector sum: bound by where the lines are, not by the adds
                    acc = acc.add(jdk.incubator.vector.IntVector.fromArray(jdk.incubator.vector.IntVector.SPECIES_512, data, i));
                }
                int s = acc.reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
                long dt = System.nanoTime() - t0;
                sink[0] += s;
                if (r > 0) {
                    best[0] = Math.min(best[0], dt);
                }
                turn.set(2L * r + 2);
            }
        });
        w.start();
        rd.start();
        w.join();
        rd.join();
        return data.length * 4.0 / best[0];
    }

    private static void pinSelf(int cpu) {
        try {
            ThreadPins.pin(ThreadPins.currentTid(), cpu);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
