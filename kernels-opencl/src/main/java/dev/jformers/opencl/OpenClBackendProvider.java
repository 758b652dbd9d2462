package dev.jformers.opencl;

import dev.jformers.core.Backend;
import dev.jformers.core.BackendProvider;

/**
 * Registers {@link OpenClBackend} as "opencl". Its priority is below the CPU backend's, so the
 * CPU stays the default; select it with {@code -Djformers.backend=opencl} or {@code opencl:N}.
 */
public final class OpenClBackendProvider implements BackendProvider {
    static final String NO_PLATFORM = "no OpenCL platform or device found (install an OpenCL driver, "
            + "e.g. Debian's pocl-opencl-icd and ocl-icd-libopencl1 for the CPU, or the GPU vendor's ICD)";

    /** Computed once: probing loads JOCL's native library and asks the ICD loader for platforms. */
    private static volatile String reason;
    private static volatile boolean probed;

    /** Null when at least one OpenCL device is usable, else why not. */
    static String reason() {
        if (!probed) {
            synchronized (OpenClBackendProvider.class) {
                if (!probed) {
                    reason = probe();
                    probed = true;
                }
            }
        }
        return reason;
    }

    private static String probe() {
        try {
            return OpenClBackend.devices().isEmpty() ? NO_PLATFORM : null;
        } catch (LinkageError | RuntimeException e) {
            return "JOCL's native library could not be loaded (" + e + "); is libOpenCL.so.1 (ocl-icd-libopencl1) installed?";
        }
    }

    @Override
    public String name() {
        return "opencl";
    }

    @Override
    public int priority() {
        return 5;
    }

    @Override
    public java.util.List<String> devices() {
        return reason() == null ? OpenClBackend.listDevices() : java.util.List.of();
    }

    @Override
    public String unavailableReason() {
        return reason();
    }

    /** @param threads ignored: the device decides its parallelism */
    @Override
    public Backend create(String device, int threads) {
        String why = reason();
        if (why != null) {
            throw new dev.jformers.core.JformersException("backend 'opencl' is not available: " + why);
        }
        return new OpenClBackend(device);
    }
}
