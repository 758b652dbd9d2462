package dev.jformers.opencl;

import dev.jformers.core.Backend;
import dev.jformers.core.LinearWeight;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;

/** Manual: times one 1024³ linear per GEMM tiling given as arguments (TSxWPT). */
public final class GemmProbe {
    private GemmProbe() {
    }

    public static void main(String[] args) {
        for (String tile : args) {
            System.setProperty("jformers.opencl.gemm", tile);
            try (OpenClBackend b = new OpenClBackend()) {
                b.cpuGemm = tile.equals("cpu");
                for (WeightLayout layout : WeightLayout.values()) {
                    System.out.print(tile + " " + layout + ": ");
                    OpenClTiming.gemm(b, layout);
                }
            }
        }
    }
}
