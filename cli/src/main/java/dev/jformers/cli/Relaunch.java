package dev.jformers.cli;

import java.lang.management.ManagementFactory;
import java.lang.module.ModuleFinder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Fast by default: {@code java -jar jformers.jar …} (or any start without {@code --add-modules jdk.incubator.vector})
 * starts the same JVM again with the flag, the same JVM options and class path, and the same arguments, and exits
 * with its code. Without the flag the command would run the scalar reference backend, about 34× slower. A JAR
 * manifest cannot add a module, so relaunching is the one way an executable jar can do it; it costs one JVM start
 * (about 0.2 s). The library itself never starts a process: applications embedding jformers add the flag
 * themselves (README) and get one WARNING when they do not.
 *
 * <p>Not relaunched: when the module is present, when the JVM has no jdk.incubator.vector to add (a trimmed
 * runtime), when this JVM is already the relaunched one, or when {@code JFORMERS_RELAUNCH=0}.
 */
final class Relaunch {
    /** Set on the relaunched JVM, so that it never relaunches again. */
    static final String MARK = "jformers.relaunched";

    private Relaunch() {
    }

    /** The relaunched JVM's exit code, or empty when this JVM should run the command itself. */
    static Optional<Integer> withVectorModule(String[] args) {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() || Boolean.getBoolean(MARK)
                || "0".equals(System.getenv("JFORMERS_RELAUNCH"))
                || ModuleFinder.ofSystem().find("jdk.incubator.vector").isEmpty()) {
            return Optional.empty();
        }
        Optional<String> java = ProcessHandle.current().info().command();
        if (java.isEmpty()) {
            return Optional.empty();
        }
        List<String> command = new ArrayList<>();
        command.add(java.get());
        command.add("--add-modules=jdk.incubator.vector");
        command.add("-D" + MARK + "=true");
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());   // -Xmx, -D…, --enable-native-access
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Main.class.getName());
        command.addAll(List.of(args));
        try {
            return Optional.of(new ProcessBuilder(command).inheritIO().start().waitFor());
        } catch (java.io.IOException e) {
            return Optional.empty();   // cannot start a JVM: run here, slowly, with the library's WARNING
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.of(130);
        }
    }
}
