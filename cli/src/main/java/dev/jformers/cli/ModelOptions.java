package dev.jformers.cli;

import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import picocli.CommandLine.Option;

/** Options every model-running command shares. */
final class ModelOptions {
    @Option(names = "--backend", paramLabel = "NAME",
            description = "scalar | cpu | opencl[:N] (default: the fastest available)")
    String backend;

    @Option(names = "--threads", paramLabel = "N", description = "worker threads (default: all cores)")
    int threads;

    Backend createBackend() {
        if (threads < 0) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                    "--threads must be ≥ 0, got " + threads);
        }
        return Backends.create(backend, threads);
    }
}
