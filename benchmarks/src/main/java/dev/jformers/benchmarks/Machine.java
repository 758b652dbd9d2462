package dev.jformers.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What a benchmark's output says about the machine it ran on: the CPU (which Zen, since the two kinds seen differ in
 * FMA width) and the load average. Every report and profiler prints {@link #describe()} so that a figure pasted into
 * the docs carries its machine with it.
 */
public final class Machine {
    private Machine() {
    }

    /** One line: the CPU, its processors, the load average. */
    public static String describe() {
        return "CPU: " + cpuModel() + "; " + Runtime.getRuntime().availableProcessors() + " processors; load average "
                + loadAverage();
    }

    /** The CPU's model name from /proc/cpuinfo, with its family and model numbers (and, for AMD, which Zen). */
    public static String cpuModel() {
        try {
            List<String> info = Files.readAllLines(Path.of("/proc/cpuinfo"));
            String name = field(info, "model name"), family = field(info, "cpu family"), model = field(info, "model");
            if (name == null) {
                return System.getProperty("os.arch");
            }
            // "AMD EPYC" alone does not tell Zen 4 (family 25: one 512-bit FMA a cycle, as 2 × 256) from Zen 5 (26: two)
            String core = "AuthenticAMD".equals(field(info, "vendor_id")) && family != null
                    ? switch (family) { case "25" -> ", Zen 3/4"; case "26" -> ", Zen 5"; default -> ""; } : "";
            return family == null ? name : name + " (cpu family " + family + ", model " + model + core + ")";
        } catch (IOException | RuntimeException e) {
            return System.getProperty("os.arch");
        }
    }

    /** The 1, 5 and 15 minute load averages from /proc/loadavg ("0.12, 0.40, 0.81"), or "unknown". */
    public static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return f[0] + ", " + f[1] + ", " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** The value of the first /proc/cpuinfo line whose key is {@code key}, or null. */
    private static String field(List<String> info, String key) {
        return info.stream().filter(l -> l.startsWith(key) && l.indexOf(':') > 0 && l.substring(0, l.indexOf(':')).trim().equals(key))
                .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(null);
    }
}
