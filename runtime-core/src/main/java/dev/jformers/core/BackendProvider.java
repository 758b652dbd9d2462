package dev.jformers.core;

/**
 * Found with {@link java.util.ServiceLoader}: each kernel module registers one provider in
 * {@code META-INF/services/dev.jformers.core.BackendProvider}.
 */
public interface BackendProvider {
    /** The name users select it by: "scalar", "cpu", "opencl". */
    String name();

    /** Higher wins when no backend is named. */
    int priority();

    /** The devices this backend can run on, one line each, as "index: name" (empty when it has no choice). */
    default java.util.List<String> devices() {
        return java.util.List.of();
    }

    /** Null when usable here, else why not (e.g. "no OpenCL platform"). */
    String unavailableReason();

    /**
     * What to tell the user, once, when this backend is unavailable and a slower one becomes the default
     * (the CPU backend without the Vector API module); null when falling back needs no word.
     */
    default String fallbackWarning() {
        return null;
    }

    /**
     * Creates a backend.
     *
     * @param device  the part after ':' in "opencl:1", or null
     * @param threads worker threads, or 0 for the default (all available processors)
     */
    Backend create(String device, int threads);
}
