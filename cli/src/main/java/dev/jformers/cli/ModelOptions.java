package dev.jformers.cli;

import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** Options every model-running command shares. */
final class ModelOptions {
    /** The command this mixin belongs to: its errors print there, as "jformers: … (see '… --help')". */
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "scalar | cpu | opencl[:N] (default: the fastest available)")
    String backend;

    @Option(names = "--threads", paramLabel = "N", description = "worker threads (default: all cores)")
    int threads;

    @Option(names = "--weights", paramLabel = "DTYPE",
            description = "cpu backend: f32 | bf16 | int8 — bf16 keeps linear weights in bfloat16: half the memory, about 2×"
                    + " faster text generation, weights rounded to 3 significant digits; int8 quantises them to 8 bits with a"
                    + " scale per 32 (Q8_0): 3.76× less memory, 3–4× faster text generation, outputs move in the 2nd–3rd digit"
                    + " (default: as the checkpoint stores them)")
    String weights;

    /** The cpu backend's {@code SimdBackend.WEIGHTS_PROPERTY} (kernels-cpu is found at run time, not compiled against). */
    static final String WEIGHTS_PROPERTY = "jformers.cpu.weights";

    Backend createBackend() {
        if (threads < 0) {
            throw usage("--threads must be ≥ 0, got " + threads);
        }
        int cores = Runtime.getRuntime().availableProcessors();
        if (threads > cores) {
            throw usage("--threads " + threads + " is more than this machine's " + cores + " cores");
        }
        if (weights == null) {
            return Backends.create(backend, threads);
        }
        if (!weights.equals("f32") && !weights.equals("bf16") && !weights.equals("int8")) {
            throw usage("--weights must be f32, bf16 or int8, got '" + weights + "'");
        }
        String before = System.getProperty(WEIGHTS_PROPERTY);
        System.setProperty(WEIGHTS_PROPERTY, weights);
        try {
            Backend created = Backends.create(backend, threads);
            if (!weights.equals("f32") && !created.name().equals("cpu")) {
                created.close();
                throw usage("--weights " + weights + " needs the cpu backend, not " + created.name());
            }
            return created;
        } finally {
            if (before == null) {
                System.clearProperty(WEIGHTS_PROPERTY);
            } else {
                System.setProperty(WEIGHTS_PROPERTY, before);
            }
        }
    }

    private ParameterException usage(String message) {
        return new ParameterException(command != null ? command.commandLine() : new CommandLine(this), message);
    }
}
