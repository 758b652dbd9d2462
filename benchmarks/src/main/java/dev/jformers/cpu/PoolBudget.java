package dev.jformers.cpu;

import dev.jformers.benchmarks.Machine;
import dev.jformers.models.AutoModel;
import dev.jformers.models.ModelInput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.hub.MavenModels;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The budget of a 2-thread encoder forward: how many jobs the pool hands to its helper and how many the caller runs
 * alone, the CPU time of each side's tasks against a 1-thread forward's, the caller's CPU time outside any task (the
 * serial part), when the helper arrives at a job and how often it takes no task of it, and how unequal the two sides'
 * task times are. Needs {@code -Djformers.cpu.poolStats=true} ({@link WorkerPool#STATS}); forwards of the variants
 * alternate, and each row gives the minimum and the median per forward over the rounds.
 *
 * <p>On a loaded machine the helper is often descheduled (it then takes no task, and the caller does the work): read
 * the CPU columns there (work, serial part, jobs), and the arrival and imbalance columns on a quiet machine only.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -XX:+UseTransparentHugePages -Djformers.cpu.poolStats=true -cp
 * benchmarks.jar dev.jformers.cpu.PoolBudget [minilm|e5|bert] [BxT] [rounds] [variant,variant]}; variants {@code 1t},
 * {@code 2t} (the defaults), and EncoderThreads' experiments ({@code 2t+chunksN}: a GEMM of few row blocks in N runs of
 * panels per thread, …).
 */
public final class PoolBudget {
    private PoolBudget() {
    }

    /** A row's columns: wall, the caller's CPU, the helper's CPU, then the pool's counters, then the two sums. */
    private static final int FIRST_COUNTER = 3;

    public static void main(String[] args) throws Exception {
        System.out.println(Machine.describe());
        if (!WorkerPool.STATS) {
            throw new IllegalStateException("run with -D" + WorkerPool.STATS_PROPERTY + "=true");
        }
        EncoderThreads.EncoderArgs a = EncoderThreads.EncoderArgs.parse(args, "e5");
        String id = a.id();
        int[] bs = a.batchSeq();
        int rounds = a.rounds();
        String[] variants = a.variants();
        ModelInput in = a.input();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        int n = variants.length;
        List<PreTrainedModel> models = new ArrayList<>();
        long[] helper = new long[n];
        for (int v = 0; v < n; v++) {
            SimdBackend simd = EncoderThreads.backend(variants[v]);
            java.util.Set<Long> before = helperThreads();
            PreTrainedModel model = AutoModel.fromPretrained(MavenModels.fetch(id), simd);
            model.forward(in).lastHiddenState();   // starts the helper, if any
            java.util.Set<Long> started = helperThreads();
            started.removeAll(before);
            helper[v] = started.isEmpty() ? -1 : started.iterator().next();
            models.add(model);
        }
        if (ThreadPins.wanted()) {   // -Djformers.bench.pin=true: caller on CPU 0, the helpers after it
            ThreadPins.pinCallerAndHelpers();
        }
        System.out.println(CoreToCore.probe());
        int stats = WorkerPool.Stats.NAMES.length;
        long[][][] rows = new long[n][rounds][];
        for (int r = -Math.max(5, rounds / 4); r < rounds; r++) {   // negative rounds warm up
            for (int v = 0; v < n; v++) {
                long[] s0 = WorkerPool.Stats.snapshot();
                long c0 = mx.getCurrentThreadCpuTime(), h0 = helper[v] < 0 ? 0 : mx.getThreadCpuTime(helper[v]), w0 = System.nanoTime();
                models.get(v).forward(in).lastHiddenState();
                long wall = System.nanoTime() - w0, caller = mx.getCurrentThreadCpuTime() - c0;
                long helperCpu = helper[v] < 0 ? 0 : mx.getThreadCpuTime(helper[v]) - h0;
                long[] s1 = WorkerPool.Stats.snapshot();
                if (r < 0) {
                    continue;
                }
                long[] row = new long[FIRST_COUNTER + stats + 2];
                row[0] = wall;
                row[1] = caller;
                row[2] = helperCpu;
                for (int i = 0; i < stats; i++) {
                    row[FIRST_COUNTER + i] = s1[i] - s0[i];
                }
                long callerTasks = s1[WorkerPool.Stats.CALLER_TASK_CPU] - s0[WorkerPool.Stats.CALLER_TASK_CPU];
                long helperTasks = s1[WorkerPool.Stats.HELPER_TASK_CPU] - s0[WorkerPool.Stats.HELPER_TASK_CPU];
                long alone = s1[WorkerPool.Stats.ALONE_TASK_CPU] - s0[WorkerPool.Stats.ALONE_TASK_CPU];
                row[FIRST_COUNTER + stats] = caller + helperTasks;                   // work: the caller's CPU + the helper's tasks'
                row[FIRST_COUNTER + stats + 1] = caller - callerTasks - alone;   // outside any task: serial part + waiting
                rows[v][r] = row;
            }
        }
        List<String> names = new ArrayList<>(List.of("forward, wall µs", "caller's CPU, µs", "helper thread's CPU (tasks + spinning), µs"));
        names.addAll(List.of(WorkerPool.Stats.NAMES));
        names.add("work: caller's CPU + helper's task CPU, µs");
        // (the wait for the helper is not subtracted: its wall time also covers tasks the caller took meanwhile)
        names.add("caller's CPU outside any task (serial part and waiting for the helper), µs");
        // "clean" forwards: the helper took a task of every job and the caller waited for it under 0.5 ms in all — on a
        // loaded machine the others are forwards in which the helper lost its core for a while (their work then holds
        // the caller's spinning, or too little of the two cores' contention)
        StringBuilder clean = new StringBuilder("| clean forwards (helper at every job, caller waited < 0.5 ms) |");
        StringBuilder cleanWork = new StringBuilder("| work over the clean forwards, µs (minimum / median) |");
        StringBuilder cleanTasks = new StringBuilder("| tasks' CPU (caller's + helper's) over the clean forwards, µs |");
        StringBuilder allTasks = new StringBuilder("| tasks' CPU (caller's + helper's), every forward, µs (pinned: the cores' "
                + "traffic counts whoever waits) |");
        for (int v = 0; v < n; v++) {
            List<long[]> ok = new ArrayList<>();
            for (long[] row : rows[v]) {
                if (row[FIRST_COUNTER + WorkerPool.Stats.HELPER_IDLE_JOBS] == 0 && row[FIRST_COUNTER + 6] < 500_000) {
                    ok.add(row);
                }
            }
            clean.append(' ').append(ok.size()).append(" |");
            long[] work = ok.stream().mapToLong(r -> r[FIRST_COUNTER + stats]).sorted().toArray();
            long[] tasks = ok.stream().mapToLong(r -> r[FIRST_COUNTER + WorkerPool.Stats.CALLER_TASK_CPU] + r[FIRST_COUNTER
                    + WorkerPool.Stats.HELPER_TASK_CPU] + r[FIRST_COUNTER + WorkerPool.Stats.ALONE_TASK_CPU]).sorted().toArray();
            cleanWork.append(work.length == 0 ? " – |" : String.format(Locale.ROOT, " %.1f / %.1f |", work[0] / 1e3, work[work.length / 2] / 1e3));
            long[] every = Arrays.stream(rows[v]).mapToLong(r -> r[FIRST_COUNTER + WorkerPool.Stats.CALLER_TASK_CPU] + r[FIRST_COUNTER
                    + WorkerPool.Stats.HELPER_TASK_CPU] + r[FIRST_COUNTER + WorkerPool.Stats.ALONE_TASK_CPU]).sorted().toArray();
            allTasks.append(String.format(Locale.ROOT, " %.1f / %.1f |", every[0] / 1e3, every[every.length / 2] / 1e3));
            cleanTasks.append(tasks.length == 0 ? " – |" : String.format(Locale.ROOT, " %.1f / %.1f |", tasks[0] / 1e3, tasks[tasks.length / 2] / 1e3));
        }
        System.out.println(clean);
        System.out.println(cleanWork);
        System.out.println(cleanTasks);
        System.out.println(allTasks);
        System.out.println(CoreToCore.probe());   // where the two vCPUs are now (they move: see CoreToCore)
        System.out.printf(Locale.ROOT, "%n%s b%d×s%d, %d rounds, variants alternated: per forward, minimum / median%n%n", id, bs[0], bs[1], rounds);
        EncoderThreads.printTableHead("per forward", variants, null);
        for (int i = 0; i < names.size(); i++) {
            boolean count = i >= FIRST_COUNTER && i < FIRST_COUNTER + stats && WorkerPool.Stats.countsJobs(i - FIRST_COUNTER);
            StringBuilder line = new StringBuilder("| ").append(names.get(i)).append(" |");
            for (int v = 0; v < n; v++) {
                long[] col = new long[rounds];
                for (int r = 0; r < rounds; r++) {
                    col[r] = rows[v][r][i];
                }
                Arrays.sort(col);
                double d = count ? 1 : 1e3;
                line.append(String.format(Locale.ROOT, count ? " %.0f / %.0f |" : " %.1f / %.1f |", col[0] / d, col[rounds / 2] / d));
            }
            System.out.println(line);
        }
    }

    /** Ids of the live threads of this process's CPU pools ("jformers-cpu-…"). */
    private static java.util.Set<Long> helperThreads() {
        java.util.Set<Long> ids = new java.util.HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("jformers-cpu-")) {
                ids.add(t.threadId());
            }
        }
        return ids;
    }
}
