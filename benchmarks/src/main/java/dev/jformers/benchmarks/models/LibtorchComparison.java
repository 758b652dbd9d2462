package dev.jformers.benchmarks.models;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.jni.JniUtils;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.Tensor;
import dev.jformers.loaders.Checkpoints;
import dev.jformers.loaders.WeightSource;
import dev.jformers.models.AutoModel;
import dev.jformers.models.AutoModelForCausalLM;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.generation.GenerationConfig;
import dev.jformers.models.generation.Generator;
import dev.jformers.models.gpt2.GPT2LMHeadModel;
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
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * jformers against libtorch 2.7.1 (through DJL, loaded fully offline from the class path) on the same
 * weights: BERT-base (Google's real uncased weights) forward, last hidden state and pooler as HF's BertModel
 * returns them, at b1×s128 and b8×s128, and GPT-2 124M-shaped
 * greedy decoding (random weights, 32-token prompt, 128 new tokens, KV cache). The libtorch side is the
 * same forward written with libtorch's eager ops ({@link TorchBert}, {@link TorchGpt2}); the setup checks
 * both agree within 1e-3 (hidden states and pooler output; GPT-2 prompt logits and the first generated tokens)
 * before timing.
 * One GPT-2 call is a whole generation: ms per token = score / 128.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", ForkFlags.HUGE_PAGES,
        "-Dai.djl.offline=true", "-DPYTORCH_VERSION=2.7.1", "-DPYTORCH_FLAVOR=cpu", "-Dai.djl.default_engine=PyTorch"})
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
@SuppressWarnings("try") // NDScope frees the NDArrays made inside its block; it is never read
public class LibtorchComparison {
    static final double TOLERANCE = 1e-3;
    static final int CHECK_TOKENS = 16;

    @Param({"bert-1x128", "bert-8x128", "gpt2-decode"})
    public String scenario;

    @Param({"1", "2"})
    public int threads;

    private Backend backend;
    private PreTrainedModel bert;
    private Generator generator;
    private NDManager manager;
    private TorchBert torchBert;
    private TorchGpt2 torchGpt2;
    private long[][] ids, mask, types;
    private long[] prompt;
    private final GenerationConfig greedy = GenerationConfig.greedy(ModelShapes.GPT2_NEW_TOKENS, null);

    /** DJL reads these as system properties or environment variables; the fork's flags set them too. */
    static void offlineLibtorch() {
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("PYTORCH_VERSION", "2.7.1");
        System.setProperty("PYTORCH_FLAVOR", "cpu");
        System.setProperty("ai.djl.default_engine", "PyTorch");
    }

    /** libtorch offline with {@code threads} intra-op threads, one inter-op thread, no autograd recording; says which. */
    static void startLibtorch(int threads) {
        offlineLibtorch();
        Engine engine = Engine.getEngine("PyTorch");
        JniUtils.setNumThreads(threads);
        try {
            JniUtils.setNumInteropThreads(1);
        } catch (RuntimeException e) {   // libtorch refuses once its inter-op pool has started; harmless
            System.out.println("[setup] inter-op threads not set: " + e.getMessage());
        }
        JniUtils.setGradMode(false);
        System.out.printf("%n[setup] %s %s, libtorch threads %d%n", engine.getEngineName(), engine.getVersion(), JniUtils.getNumThreads());
    }

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        startLibtorch(threads);
        manager = NDManager.newBaseManager();
        backend = Backends.create("cpu", threads);

        if (scenario.startsWith("bert")) {
            setupBert(scenario.substring("bert-".length()));
        } else {
            setupGpt2();
        }
        if (params.getBenchmark().endsWith(".jformers")) {   // only the measured engine keeps its memory and threads
            manager.close();
            manager = null;
        } else {
            backend.close();
            backend = null;
        }
    }

    private void setupBert(String shape) {
        Path dir = MavenModels.fetch("bert-base-uncased");
        int[] bs = ModelShapes.batchSeq(shape);
        ids = ModelShapes.bertIds(bs[0], bs[1]);
        mask = ModelShapes.ones(bs[0], bs[1]);
        types = ModelShapes.zeros(bs[0], bs[1]);
        bert = AutoModel.fromPretrained(dir, backend);
        try (WeightSource src = Checkpoints.open(dir)) {
            String prefix = src.contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
            torchBert = new TorchBert(new TorchWeights(manager, src, prefix), 12, 768, 12, true);
        }
        ModelOutput ours = jformersBert();
        float[] theirs, theirPooled;
        try (NDScope scope = new NDScope()) {
            NDArray h = torchBert.forward(manager, ids);
            theirs = h.toFloatArray();
            theirPooled = torchBert.pool(h).toFloatArray();
        }
        check("BERT-base " + shape + " last_hidden_state", ours.get("last_hidden_state").toFloatArray(), theirs);
        check("BERT-base " + shape + " pooler_output", ours.get("pooler_output").toFloatArray(), theirPooled);
    }

    private void setupGpt2() {
        Path dir = RandomGpt2.folder();
        GPT2LMHeadModel model = (GPT2LMHeadModel) AutoModelForCausalLM.fromPretrained(dir, backend);
        generator = new Generator(model);
        prompt = ModelShapes.gpt2Prompt();
        try (WeightSource src = Checkpoints.open(dir)) {
            String prefix = src.contains("transformer.wte.weight") ? "transformer." : "";
            torchGpt2 = new TorchGpt2(new TorchWeights(manager, src, prefix), ModelShapes.GPT2_LAYERS, ModelShapes.GPT2_HIDDEN,
                    ModelShapes.GPT2_HEADS);
        }
        // The prompt's logits (last position), then the first generated tokens.
        Tensor logits = model.forward(ModelInput.of(new long[][] {prompt})).logits();     // [1, T, V]
        float[] ours = logits.select(1, prompt.length - 1).toFloatArray();
        float[][] theirs = new float[1][];
        long[] torchTokens;
        try (NDScope scope = new NDScope()) {
            torchTokens = torchGpt2.generate(manager, prompt, CHECK_TOKENS, theirs);
        }
        check("GPT-2 prompt logits", ours, theirs[0]);
        long[] out = generator.generate(prompt, GenerationConfig.greedy(CHECK_TOKENS, null), null);
        long[] ourTokens = Arrays.copyOfRange(out, prompt.length, out.length);
        System.out.printf("[check] GPT-2 greedy tokens: jformers %s, libtorch %s%n", Arrays.toString(ourTokens), Arrays.toString(torchTokens));
        if (!Arrays.equals(ourTokens, torchTokens)) {
            throw new IllegalStateException("jformers and libtorch generate different tokens; not benchmarking a wrong answer");
        }
    }

    private static void check(String what, float[] ours, float[] theirs) {
        double diff = ModelShapes.maxAbsDiff(ours, theirs);
        System.out.printf("[check] %s: max |jformers - libtorch| = %.3g%n", what, diff);
        if (!(diff <= TOLERANCE)) {
            throw new IllegalStateException("jformers and libtorch disagree on " + what + ": max abs difference " + diff + " > "
                    + TOLERANCE + "; not benchmarking a wrong answer");
        }
    }

    /** HF's BertModel.forward: last_hidden_state and pooler_output (the libtorch side computes both too). */
    private ModelOutput jformersBert() {
        return bert.forward(ModelInput.of(ids).withAttentionMask(mask).withTokenTypeIds(types));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (manager != null) {
            manager.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    @Benchmark
    public long jformers() {
        if (generator != null) {
            long[] out = generator.generate(prompt, greedy, null);
            return out[out.length - 1];
        }
        return Float.floatToRawIntBits(jformersBert().get("pooler_output").getFloat(0, 0));
    }

    @Benchmark
    public long libtorch() {
        try (NDScope scope = new NDScope()) {
            if (torchGpt2 != null) {
                long[] out = torchGpt2.generate(manager, prompt, ModelShapes.GPT2_NEW_TOKENS, null);
                return out[out.length - 1];
            }
            NDArray pooled = torchBert.pool(torchBert.forward(manager, ids));
            return Float.floatToRawIntBits(pooled.toFloatArray()[0]);
        }
    }
}
