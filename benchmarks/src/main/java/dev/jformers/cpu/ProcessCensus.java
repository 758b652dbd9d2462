package dev.jformers.cpu;

import dev.jformers.benchmarks.Machine;
import dev.jformers.models.AutoModel;
import dev.jformers.models.ModelInput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.hub.MavenModels;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a JVM process does while it runs encoder forwards, for comparing processes (a 2-thread forward's speed differed
 * by up to 17% from one JVM to the next while a 1-thread one stayed within 1%): over the measured window, every
 * thread's CPU time, run-queue wait, migrations and involuntary switches (from /proc/self/task/TID/schedstat and
 * sched), grouped as the caller, the pool's helper, the JIT compiler threads, GC and the rest; the caller's and the
 * helper's allocation per forward (a kernel that is not inlined into its compiled task boxes its vectors); JIT activity
 * and safepoints in the window (an in-process JFR recording: jdk.Compilation, jdk.Deoptimization, jdk.SafepointBegin,
 * jdk.GarbageCollection); the heap's huge pages (AnonHugePages). With {@code -Djformers.cpu.poolStats=true} also the
 * work (caller's CPU + helper's task CPU) and the jobs the helper missed.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -XX:+UseTransparentHugePages -cp benchmarks.jar
 * dev.jformers.cpu.ProcessCensus [minilm|e5|bert] [BxT] [threads] [rounds] [pin]}: {@code pin} puts the caller on CPU 0
 * and the helper on CPU 1 (taskset) after the warm-up. The last line, "census …", sums the process up for grep.
 */
public final class ProcessCensus {
    private ProcessCensus() {
    }

    /** A thread's counters from /proc: CPU ns, run-queue wait ns, migrations, involuntary switches, last CPU. */
    private record Tick(String name, long cpu, long queued, long migrations, long involuntary, int processor) {
    }

    public static void main(String[] args) throws Exception {
        System.out.println(Machine.describe());
        EncoderThreads.EncoderArgs a = EncoderThreads.EncoderArgs.parse(new String[] {args.length > 0 ? args[0] : "e5",
                args.length > 1 ? args[1] : "1x128", "1", "1t"}, "e5");
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 60;
        boolean pin = List.of(args).contains("pin");
        int windows = args.length > 4 && !args[4].equals("pin") ? Integer.parseInt(args[4]) : 1;
        ModelInput in = a.input();
        SimdBackend simd = new SimdBackend(threads, 0);
        PreTrainedModel model = AutoModel.fromPretrained(MavenModels.fetch(a.id()), simd);
        for (int i = 0; i < (windows > 1 ? 3 : Math.max(5, rounds / 3)); i++) {   // warm-up: JIT, packing (windows: a short one)
            model.forward(in).lastHiddenState();
        }
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long callerTid = ThreadPins.currentTid();
        long helperJavaId = -1;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("jformers-cpu-")) {
                helperJavaId = t.threadId();
            }
        }
        Map<Long, Tick> before = ticks();
        long helperTid = before.entrySet().stream().filter(e -> e.getValue().name().startsWith("jformers-cpu-"))
                .mapToLong(Map.Entry::getKey).findFirst().orElse(-1);
        if (pin) {
            ThreadPins.pinCallerAndHelpers();
        }
        for (int window = 0; window < windows; window++) {
            String near = CoreToCore.probe();
            Recording jfr = new Recording();
            jfr.enable("jdk.Compilation").withThreshold(Duration.ZERO);
            jfr.enable("jdk.Deoptimization");
            jfr.enable("jdk.SafepointBegin");
            jfr.enable("jdk.GarbageCollection");
            long compileMs0 = ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
            before = ticks();
            jfr.start();
            long alloc0 = mx.getCurrentThreadAllocatedBytes(), helperAlloc0 = helperJavaId < 0 ? 0 : mx.getThreadAllocatedBytes(helperJavaId);
            long[] s0 = WorkerPool.STATS ? WorkerPool.Stats.snapshot() : null;
            long[] wall = new long[rounds], caller = new long[rounds], helper = new long[rounds];
            for (int r = 0; r < rounds; r++) {
                long c0 = mx.getCurrentThreadCpuTime(), h0 = helperJavaId < 0 ? 0 : mx.getThreadCpuTime(helperJavaId), w0 = System.nanoTime();
                model.forward(in).lastHiddenState();
                wall[r] = System.nanoTime() - w0;
                caller[r] = mx.getCurrentThreadCpuTime() - c0;
                helper[r] = helperJavaId < 0 ? 0 : mx.getThreadCpuTime(helperJavaId) - h0;
            }
            long alloc = mx.getCurrentThreadAllocatedBytes() - alloc0;
            long helperAlloc = helperJavaId < 0 ? 0 : mx.getThreadAllocatedBytes(helperJavaId) - helperAlloc0;
            long[] s1 = WorkerPool.STATS ? WorkerPool.Stats.snapshot() : null;
            Map<Long, Tick> after = ticks();
            jfr.stop();
            long compileMs = ManagementFactory.getCompilationMXBean().getTotalCompilationTime() - compileMs0;
            Path file = Files.createTempFile("census", ".jfr");
            jfr.dump(file);
            jfr.close();

            // threads, grouped
            Map<String, long[]> groups = new TreeMap<>();   // cpu, wait, migrations, involuntary, threads
            StringBuilder where = new StringBuilder();
            for (var e : after.entrySet()) {
                Tick t1 = e.getValue(), t0 = before.get(e.getKey());
                long tid = e.getKey();
                String g = tid == callerTid ? "caller" : tid == helperTid ? "helper" : group(t1.name());
                long[] v = groups.computeIfAbsent(g, k -> new long[5]);
                v[0] += t1.cpu() - (t0 == null ? 0 : t0.cpu());
                v[1] += t1.queued() - (t0 == null ? 0 : t0.queued());
                v[2] += t1.migrations() - (t0 == null ? 0 : t0.migrations());
                v[3] += t1.involuntary() - (t0 == null ? 0 : t0.involuntary());
                v[4]++;
                if (tid == callerTid || tid == helperTid) {
                    where.append(where.isEmpty() ? "" : ", ").append(g).append(" on CPU ").append(t1.processor());
                }
            }
            System.out.printf(Locale.ROOT, "%n%s b%d×s%d, %d thread(s), %d forwards%s; %s%n%n", a.id(), a.batchSeq()[0], a.batchSeq()[1],
                    threads, rounds, pin ? " (caller pinned to CPU 0, helper to CPU 1)" : "", where);
            System.out.println("| threads | CPU ms per forward | run-queue wait ms per forward | migrations | involuntary switches | threads |");
            System.out.println("|---|---:|---:|---:|---:|---:|");
            for (var e : groups.entrySet()) {
                long[] v = e.getValue();
                System.out.printf(Locale.ROOT, "| %s | %.3f | %.3f | %d | %d | %d |%n", e.getKey(), v[0] / 1e6 / rounds, v[1] / 1e6 / rounds, v[2], v[3], v[4]);
            }

            // JIT, safepoints, GC in the window
            Map<String, Integer> compiled = new TreeMap<>(), deopts = new TreeMap<>();
            Map<String, Long> compiledNs = new HashMap<>();
            int compilations = 0, safepoints = 0, gcs = 0;
            long compileNs = 0;
            for (RecordedEvent ev : RecordingFile.readAllEvents(file)) {
                switch (ev.getEventType().getName()) {
                    case "jdk.Compilation" -> {
                        compilations++;
                        compileNs += ev.getDuration().toNanos();
                        String m = method(ev) + " L" + ev.getValue("compileLevel") + (ev.getBoolean("isOsr") ? " osr" : "");
                        compiled.merge(m, 1, Integer::sum);
                        compiledNs.merge(m, ev.getDuration().toNanos(), Long::sum);
                    }
                    case "jdk.Deoptimization" -> deopts.merge(method(ev) + " " + ev.getValue("reason") + "/" + ev.getValue("action")
                            + " line " + ev.getValue("lineNumber"), 1, Integer::sum);
                    case "jdk.SafepointBegin" -> safepoints++;
                    case "jdk.GarbageCollection" -> gcs++;
                    default -> { }
                }
            }
            Files.deleteIfExists(file);
            System.out.printf(Locale.ROOT, "%nIn the window: %d compilations (%.1f ms by JFR, %d ms by the compilation bean), %d deoptimizations, "
                    + "%d safepoints, %d GCs%n", compilations, compileNs / 1e6, compileMs, deopts.values().stream().mapToInt(i -> i).sum(), safepoints, gcs);
            compiledNs.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(12)
                    .forEach(e -> System.out.printf(Locale.ROOT, "  compiled %s%s: %.1f ms%n", e.getKey(),
                            compiled.get(e.getKey()) > 1 ? " ×" + compiled.get(e.getKey()) : "", e.getValue() / 1e6));
            deopts.forEach((m, c) -> System.out.println("  deoptimized " + m + (c > 1 ? " ×" + c : "")));
            long hugeKb = smapsRollup("AnonHugePages"), anonKb = smapsRollup("Anonymous");
            System.out.printf(Locale.ROOT, "Allocated per forward: caller %.1f KB, helper %.1f KB; AnonHugePages %d MB of %d MB anonymous%n",
                    alloc / 1024.0 / rounds, helperAlloc / 1024.0 / rounds, hugeKb / 1024, anonKb / 1024);

            long[] w = wall.clone(), c = caller.clone(), h = helper.clone();
            Arrays.sort(w);
            Arrays.sort(c);
            Arrays.sort(h);
            String work = "";
            if (s1 != null) {
                long helperTasks = s1[WorkerPool.Stats.HELPER_TASK_CPU] - s0[WorkerPool.Stats.HELPER_TASK_CPU];
                long callerCpu = Arrays.stream(caller).sum();
                long missed = s1[WorkerPool.Stats.HELPER_IDLE_JOBS] - s0[WorkerPool.Stats.HELPER_IDLE_JOBS];
                long handed = s1[WorkerPool.Stats.JOBS_HANDED] - s0[WorkerPool.Stats.JOBS_HANDED];
                work = String.format(Locale.ROOT, " work %.2f ms (helper's tasks %.2f) missed %.1f/%.0f jobs", (callerCpu + helperTasks) / 1e6 / rounds,
                        helperTasks / 1e6 / rounds, missed / (double) rounds, handed / (double) rounds);
            }
            System.out.println(near + " (before the window); after: " + CoreToCore.probe());
            long[] cg = groups.getOrDefault("JIT compiler", new long[5]);
            System.out.printf(Locale.ROOT, "%ncensus %s %dt%s w%d: wall min %.2f median %.2f ms; caller CPU median %.2f, helper CPU median %.2f;%s; "
                            + "compiler CPU %.2f ms/fwd, %d compilations, %d deopts, %d safepoints; helper alloc %.1f KB/fwd; huge %d MB; load %s%n",
                    a.id(), threads, pin ? " pinned" : "", window, w[0] / 1e6, w[rounds / 2] / 1e6, c[rounds / 2] / 1e6, h[rounds / 2] / 1e6, work,
                    cg[0] / 1e6 / rounds, compilations, deopts.values().stream().mapToInt(i -> i).sum(), safepoints,
                    helperAlloc / 1024.0 / rounds, hugeKb / 1024, Machine.loadAverage());
        }
        simd.close();
    }

    private static String method(RecordedEvent ev) {
        jdk.jfr.consumer.RecordedMethod m = ev.getValue("method");
        return m == null ? "?" : m.getType().getName().replaceFirst("^dev\\.jformers\\.", "") + "." + m.getName();
    }

    /** The group of a JVM thread by its name (Linux keeps 15 characters of it). */
    private static String group(String name) {
        if (name.startsWith("C1 Compiler") || name.startsWith("C2 Compiler")) {
            return "JIT compiler";
        }
        if (name.startsWith("GC ") || name.startsWith("G1 ")) {
            return "GC";
        }
        return name.startsWith("VM Thread") ? "VM thread" : "other";
    }

    /** Every thread of this process: /proc/self/task/TID/{comm,schedstat,sched,stat}. */
    private static Map<Long, Tick> ticks() throws IOException {
        Map<Long, Tick> out = new HashMap<>();
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    String name = Files.readString(t.resolve("comm")).trim();
                    String[] ss = Files.readString(t.resolve("schedstat")).trim().split(" ");
                    long migrations = 0, involuntary = 0;
                    for (String line : Files.readAllLines(t.resolve("sched"))) {
                        if (line.startsWith("se.nr_migrations")) {
                            migrations = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                        } else if (line.startsWith("nr_involuntary_switches")) {
                            involuntary = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                        }
                    }
                    String stat = Files.readString(t.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");   // fields from the 3rd on
                    out.put(Long.parseLong(t.getFileName().toString()), new Tick(name, Long.parseLong(ss[0]), Long.parseLong(ss[1]),
                            migrations, involuntary, Integer.parseInt(f[39 - 3])));
                } catch (IOException | RuntimeException e) {
                    // the thread ended meanwhile
                }
            }
        }
        return out;
    }

    private static long smapsRollup(String key) {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps_rollup"));
            for (String l : lines) {
                if (l.startsWith(key + ":")) {
                    return Long.parseLong(l.substring(key.length() + 1).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
