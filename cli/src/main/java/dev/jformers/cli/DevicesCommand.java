package dev.jformers.cli;

import dev.jformers.core.Backend;
import dev.jformers.core.BackendProvider;
import dev.jformers.core.Backends;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code jformers devices}: the backends found on this machine and whether each can run. */
@Command(name = "devices", mixinStandardHelpOptions = true, description = "List the compute backends and devices.")
final class DevicesCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        for (BackendProvider p : Backends.providers()) {
            String why = p.unavailableReason();
            if (why != null) {
                out.printf("%-8s unavailable: %s%n", p.name(), why);
                continue;
            }
            try (Backend b = p.create(null, 0)) {
                out.printf("%-8s %s%n", p.name(), b.describe());
            }
            for (String device : p.devices()) {
                out.printf("%-8s   %s:%s%n", "", p.name(), device);
            }
        }
        return 0;
    }
}
