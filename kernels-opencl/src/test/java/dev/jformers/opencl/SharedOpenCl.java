package dev.jformers.opencl;

import org.junit.jupiter.api.Assumptions;

/**
 * One OpenCL backend for the whole test run: PoCL compiles the kernels at first use (seconds),
 * so every test class shares this instance. Tests are skipped, with a message, where no OpenCL
 * platform is installed.
 */
final class SharedOpenCl {
    private static OpenClBackend backend;
    private static boolean told;

    private SharedOpenCl() {
    }

    /** The shared backend; skips the calling test (class) when OpenCL is unavailable here. */
    static synchronized OpenClBackend backend() {
        String why = new OpenClBackendProvider().unavailableReason();
        if (why != null && !told) {
            told = true;
            System.err.println("OpenCL tests skipped: " + why);
        }
        Assumptions.assumeTrue(why == null, "no OpenCL platform: install pocl-opencl-icd (" + why + ")");
        if (backend == null) {
            // -Djformers.backend=opencl:1 (or a name) picks the device; else the first GPU, else device 0
            String spec = System.getProperty("jformers.backend", "");
            backend = new OpenClBackend(spec.startsWith("opencl:") ? spec.substring("opencl:".length()) : null);
            System.err.println("OpenCL tests on " + backend.describe());
        }
        return backend;
    }
}
