package dev.jformers.benchmarks;

import dev.jformers.core.Backend;
import dev.jformers.core.BackendProvider;
import dev.jformers.core.Backends;
import dev.jformers.core.LinearWeight;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;
import dev.jformers.models.AutoModel;
import dev.jformers.models.ModelInput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.hub.MavenModels;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The OpenCL backend (on whatever OpenCL device is present; PoCL on the CPU here) against the
 * SIMD CPU backend in the same fork: a 1024³ GEMM with the weight resident on the device (the
 * result read back to the host, which also waits for the device), and a BERT-base forward over
 * 128 tokens with Google's weights. Both report milliseconds per call.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", ForkFlags.HUGE_PAGES})
public class OpenClBenchmark {

    @Param({"opencl", "cpu"})
    public String backendName;

    private Backend backend;
    private LinearWeight weight;
    private Tensor x;
    private PreTrainedModel bert;
    private ModelInput tokens;

    @Setup(Level.Trial)
    public void setUp() {
        boolean available = Backends.providers().stream()
                .anyMatch(p -> p.name().equals(backendName) && p.unavailableReason() == null);
        if (!available) {
            String why = Backends.providers().stream().filter(p -> p.name().equals(backendName))
                    .map(BackendProvider::unavailableReason).findFirst().orElse("not on the class path");
            throw new IllegalStateException("backend " + backendName + " unavailable: " + why);
        }
        backend = Backends.create(backendName, 0);
        Random rnd = new Random(42);
        weight = backend.prepareLinear(GemmBenchmark.random(rnd, 1024, 1024), GemmBenchmark.random(rnd, 1024),
                WeightLayout.OUT_IN);
        x = backend.upload(GemmBenchmark.random(rnd, 1024, 1024));
        bert = AutoModel.fromPretrained(MavenModels.fetch("bert-base-uncased"), backend);
        long[][] ids = new long[1][128];
        for (int i = 0; i < 128; i++) {
            ids[0][i] = 1000 + i;
        }
        tokens = ModelInput.of(ids);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
    }

    /** 2.1 GFLOP per call. */
    @Benchmark
    public Tensor gemm1024() {
        return backend.toHost(backend.linear(x, weight));
    }

    /** BERT-base, batch 1 × 128 tokens: about 22.5 GFLOP per call. */
    @Benchmark
    public Tensor bertBaseB1S128() {
        return bert.forward(tokens).lastHiddenState();
    }
}
