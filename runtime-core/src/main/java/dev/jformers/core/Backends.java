package dev.jformers.core;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * Finds backends at run time, so that models never depend on a kernel module. Select one by
 * name ("scalar", "cpu", "opencl", "opencl:1"), by the system property {@code jformers.backend},
 * or take the default: the available backend with the highest priority.
 */
public final class Backends {
    /** System property naming the default backend. */
    public static final String PROPERTY = "jformers.backend";

    private Backends() {
    }

    /** Every provider on the class path, best first. */
    public static List<BackendProvider> providers() {
        List<BackendProvider> list = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class).forEach(list::add);
        list.sort(Comparator.comparingInt(BackendProvider::priority).reversed());
        return list;
    }

    /** The backend named by {@code spec} ("cpu", "opencl:0", …); null or empty means the default. */
    public static Backend create(String spec, int threads) {
        if (spec == null || spec.isBlank()) {
            spec = System.getProperty(PROPERTY, "");
        }
        List<BackendProvider> providers = providers();
        if (spec.isBlank()) {
            String fallback = null;
            for (BackendProvider p : providers) {
                if (p.unavailableReason() == null) {
                    warnOnce(fallback);
                    return p.create(null, threads);
                }
                fallback = fallback != null ? fallback : p.fallbackWarning();
            }
            throw new JformersException("no backend available: add jformers-kernels-cpu to the class path");
        }
        int colon = spec.indexOf(':');
        String name = colon < 0 ? spec : spec.substring(0, colon);
        String device = colon < 0 ? null : spec.substring(colon + 1);
        for (BackendProvider p : providers) {
            if (p.name().equals(name)) {
                String why = p.unavailableReason();
                if (why != null) {
                    throw new JformersException("backend '" + name + "' is not available: " + why);
                }
                return p.create(device, threads);
            }
        }
        throw new JformersException("unknown backend '" + name + "' (available: "
                + providers.stream().map(BackendProvider::name).collect(Collectors.joining(", ")) + ")");
    }

    private static final AtomicBoolean WARNED = new AtomicBoolean();

    /** One WARNING per process when the default backend is a fallback (say, scalar instead of cpu). */
    private static void warnOnce(String warning) {
        if (warning != null && WARNED.compareAndSet(false, true)) {
            System.getLogger("dev.jformers").log(System.Logger.Level.WARNING, warning);
        }
    }

    /** The default backend with the default number of threads. */
    public static Backend create(String spec) {
        return create(spec, 0);
    }
}
