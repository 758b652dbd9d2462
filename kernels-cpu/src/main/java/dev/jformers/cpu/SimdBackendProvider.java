package dev.jformers.cpu;

import dev.jformers.core.Backend;
import dev.jformers.core.BackendProvider;

/** Registers {@link SimdBackend} as "cpu", preferred over "scalar" when the Vector API module is present. */
public final class SimdBackendProvider implements BackendProvider {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int priority() {
        return 10;
    }

    @Override
    public String unavailableReason() {
        boolean vectorApi = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        return vectorApi ? null : "the JVM was started without --add-modules jdk.incubator.vector";
    }

    @Override
    public String fallbackWarning() {
        return "jformers: the JVM runs without the Vector API module, so the slow scalar backend is used "
                + "(embeddings about 34x slower); start the JVM with --add-modules jdk.incubator.vector";
    }

    @Override
    public Backend create(String device, int threads) {
        return new SimdBackend(threads, 0);
    }
}
