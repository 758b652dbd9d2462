package dev.jformers.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Pins the calling thread to CPU 0 and the CPU pools' helpers ("jformers-cpu-…") to CPUs 1, 2, … (taskset on their
 * Linux thread ids), when the system property {@value #PROPERTY} is true. For measuring 2-thread forwards on a machine
 * that others load: the scheduler otherwise sometimes puts the caller and the helper on one core, where they take turns
 * (docs/benchmarks-models.md, "Why the helper is missing under load"). Meant with {@code nice -n -19}, so that both
 * pinned threads get their cores.
 */
final class ThreadPins {
    /** System property: true pins. */
    static final String PROPERTY = "jformers.bench.pin";

    private ThreadPins() {
    }

    /** Whether {@link #PROPERTY} asks for pinning. */
    static boolean wanted() {
        return Boolean.getBoolean(PROPERTY);
    }

    /** The calling thread's Linux thread id. */
    static long currentTid() throws IOException {
        return Long.parseLong(Path.of("/proc/thread-self").toRealPath().getFileName().toString());
    }

    /** Pins the caller to CPU 0 and every live pool helper to the CPUs after it, in turn; returns the helpers pinned. */
    static int pinCallerAndHelpers() throws IOException, InterruptedException {
        pin(currentTid(), 0);
        int cpus = Runtime.getRuntime().availableProcessors(), next = 1, pinned = 0;
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                String name;
                try {
                    name = Files.readString(t.resolve("comm")).trim();
                } catch (IOException e) {
                    continue;   // ended meanwhile
                }
                if (name.startsWith("jformers-cpu-")) {
                    pin(Long.parseLong(t.getFileName().toString()), next);
                    next = next + 1 < cpus ? next + 1 : 1;
                    pinned++;
                }
            }
        }
        return pinned;
    }

    static void pin(long tid, int cpu) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("taskset", "-p", "-c", Integer.toString(cpu), Long.toString(tid)).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("taskset failed for thread " + tid);
        }
    }
}
