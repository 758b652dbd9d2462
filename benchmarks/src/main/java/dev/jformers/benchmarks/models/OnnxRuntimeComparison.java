package dev.jformers.benchmarks.models;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.models.AutoModel;
import dev.jformers.models.ModelInput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.hub.MavenModels;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import dev.jformers.benchmarks.ForkFlags;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * jformers against ONNX Runtime on the very same ONNX files (all-MiniLM-L6-v2, e5-small-v2 from Maven
 * artifacts): one encoder forward to {@code last_hidden_state}, the same token ids, the same number of
 * intra-op threads (inter-op 1). The setup checks both answers agree within 1e-3 before anything is timed.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", ForkFlags.HUGE_PAGES})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
public class OnnxRuntimeComparison {
    static final double TOLERANCE = 1e-3;

    @Param({"all-MiniLM-L6-v2", "e5-small-v2"})
    public String model;

    /** batch × sequence length. */
    @Param({"1x16", "1x128", "1x512", "8x128", "32x128"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private Backend backend;
    private PreTrainedModel jformers;
    private OrtEncoder session;
    private long[][] ids, mask, types;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) throws OrtException {
        Path dir = MavenModels.fetch(model);
        int[] bs = ModelShapes.batchSeq(shape);
        ids = ModelShapes.bertIds(bs[0], bs[1]);
        mask = ModelShapes.ones(bs[0], bs[1]);
        types = ModelShapes.zeros(bs[0], bs[1]);

        backend = Backends.create("cpu", threads);
        jformers = AutoModel.fromPretrained(dir, backend);

        session = new OrtEncoder(dir.resolve("model.onnx"), threads);

        float[] ours = runJformers();
        float[] theirs = session.lastHiddenState(ids, mask, types);
        double diff = ModelShapes.maxAbsDiff(ours, theirs);
        System.out.printf("%n[check] %s %s: max |jformers - onnxruntime| of last_hidden_state = %.3g (%s)%n", model, shape, diff,
                backend.describe());
        if (!(diff <= TOLERANCE)) {
            throw new IllegalStateException("jformers and ONNX Runtime disagree on " + model + " " + shape
                    + ": max abs difference " + diff + " > " + TOLERANCE + "; not benchmarking a wrong answer");
        }
        // Only the engine being measured keeps its threads: the other one's pool must not compete for the cores.
        if (params.getBenchmark().endsWith(".jformers")) {
            session.close();
            session = null;
        } else {
            backend.close();
            backend = null;
            jformers = null;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws OrtException {
        if (session != null) {
            session.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    float[] runJformers() {
        return jformers.forward(ModelInput.of(ids).withAttentionMask(mask).withTokenTypeIds(types)).lastHiddenState().toFloatArray();
    }

    @Benchmark
    public float jformers() {
        return jformers.forward(ModelInput.of(ids).withAttentionMask(mask).withTokenTypeIds(types)).lastHiddenState().getFloat(0, 0, 0);
    }

    @Benchmark
    public float onnxruntime() throws OrtException {
        try (OrtSession.Result r = session.run(ids, mask, types)) {
            return OrtEncoder.lastHiddenState(r).get(0);
        }
    }
}
