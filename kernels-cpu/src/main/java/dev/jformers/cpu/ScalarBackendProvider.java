package dev.jformers.cpu;

import dev.jformers.core.Backend;
import dev.jformers.core.BackendProvider;

/** Registers {@link ScalarBackend} as "scalar". */
public final class ScalarBackendProvider implements BackendProvider {
    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public String unavailableReason() {
        return null;
    }

    @Override
    public Backend create(String device, int threads) {
        return new ScalarBackend();
    }
}
