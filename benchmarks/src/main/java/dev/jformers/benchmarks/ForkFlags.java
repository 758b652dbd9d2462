package dev.jformers.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The JVM flags every benchmark fork runs with: the Vector API module, native access (FFM, ONNX Runtime,
 * libtorch) and transparent huge pages for the heap where the kernel offers them. Huge pages matter for
 * anything that streams weights from memory: with 4 KiB pages a GPT-2 decoding step reads ~10% slower on
 * this VM (TLB misses under nested paging). The report runners pass this list, which replaces the flags
 * of the {@code @Fork} annotations; those name {@link #HUGE_PAGES} directly for runs started through JMH's
 * own main (on a kernel without THP the JVM then prints a warning and runs with small pages).
 */
public final class ForkFlags {
    public static final String HUGE_PAGES = "-XX:+UseTransparentHugePages";

    private static final Path THP_MODE = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");

    private ForkFlags() {
    }

    /** The flags for a fork, huge pages included when {@link #hugePagesOffered()}. */
    public static List<String> base() {
        List<String> flags = new ArrayList<>(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"));
        if (hugePagesOffered()) {
            flags.add(HUGE_PAGES);
        }
        return flags;
    }

    /** Whether the kernel gives huge pages to a process that asks (THP mode "always" or "madvise"). */
    public static boolean hugePagesOffered() {
        return hugePagesOffered(thpMode());
    }

    static boolean hugePagesOffered(String mode) {
        return mode.contains("[always]") || mode.contains("[madvise]");
    }

    /** The kernel's THP line, e.g. {@code always [madvise] never}, or "unknown". */
    public static String thpMode() {
        try {
            return Files.readString(THP_MODE).strip();
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
