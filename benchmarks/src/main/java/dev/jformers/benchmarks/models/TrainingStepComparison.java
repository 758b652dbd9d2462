package dev.jformers.benchmarks.models;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.jformers.benchmarks.ForkFlags;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.Tensor;
import dev.jformers.loaders.Checkpoints;
import dev.jformers.loaders.WeightSource;
import dev.jformers.models.Labels;
import dev.jformers.models.ModelInput;
import dev.jformers.training.AdamW;
import dev.jformers.training.TrainableModel;
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
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One training step — forward, backward, AdamW — of {@code BertForSequenceClassification} (2 labels, mean
 * cross-entropy) on random weights of all-MiniLM-L6-v2's shapes at b32×s128 and of BERT-base's at b8×s128:
 * jformers ({@link TrainableModel} on the SIMD backend) against libtorch 2.7.1 eager through DJL
 * ({@link TorchBertTraining}: the same ops, libtorch's autograd through GradientCollector, the same AdamW).
 * Before timing, the setup runs two steps on each engine from the same weights and checks that both losses
 * agree (the second one after an AdamW step, so it checks the gradients and the update as well). A step is
 * about 3× the forward's FLOPs. jformers computes the last layer for the [CLS] row alone (the only row the pooler
 * reads; keys and values still for every token) where libtorch, as Hugging Face, computes every row: run the
 * jformers side with {@code -jvmArgsAppend -Djformers.lastLayerAllTokens=true} for the same work as libtorch.
 * The measured engine's peak heap (JVM heap pools), peak RSS (VmHWM, reset
 * after setup), CPU time per step (the whole process, all threads) and Java heap allocated per step (all threads) go to
 * the file {@value #MEMORY_LOG_PROPERTY} names (default: the temp dir), one line per trial.
 *
 * <p>Each iteration also prints the heap its steps allocated, and a warning where a jformers step allocated more than
 * {@value #ALLOCATION_WARNING_PROPERTY} MB (default {@value #ALLOCATION_WARNING_MB}): a warm jformers step allocates
 * a few MB to a few tens of MB, while a kernel that C2 compiled with its vectors boxed (a Vector API call left
 * un-inlined, or a type profile naming two vector classes) allocates an object per vector operation — hundreds of MB to
 * hundreds of GB a step, and a step several times slower — in some processes only (docs/benchmarks-models.md, "boxed
 * kernels"). Such a fork's time is not jformers' speed: rerun it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", ForkFlags.HUGE_PAGES,
        "-Dai.djl.offline=true", "-DPYTORCH_VERSION=2.7.1", "-DPYTORCH_FLAVOR=cpu", "-Dai.djl.default_engine=PyTorch"})
// Four warm-up steps: a JVM's first steps run partly in C1/C2-in-progress code (BERT-base's first ~5 steps cost
// ~0.9 s more than its steady 5.9 s), and libtorch's allocator settles over its first steps too.
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 3, time = 1)
@SuppressWarnings("try") // NDScope frees the NDArrays made inside its block; it is never read
public class TrainingStepComparison {
    static final double TOLERANCE = 1e-3;
    static final double LR = 1e-3;
    static final String MEMORY_LOG_PROPERTY = "jformers.bench.memoryLog";
    static final String ALLOCATION_WARNING_PROPERTY = "jformers.bench.allocationWarningMB";
    static final int ALLOCATION_WARNING_MB = 200;

    @Param({"minilm-32x128", "bert-8x128"})
    public String scenario;

    @Param({"1", "2"})
    public int threads;

    private TrainableModel model;
    private AdamW adamW;
    private ModelInput input;
    private Labels labels;
    private NDManager manager;
    private TorchBertTraining torch;
    private long[][] ids;
    private long[] labelIds;
    private String measured;
    /** Steps run and the process's CPU time since the end of setup: CPU ms per step, which a loaded machine disturbs less than wall time. */
    private long steps, cpuAtStart;
    /** Heap bytes allocated by all threads at the end of setup and at the start of the iteration, and the steps then. */
    private long allocatedAtStart, allocatedAtIteration, stepsAtIteration, gcMillisAtIteration;

    /** The encoder and its head count of a scenario ("minilm-32x128" → all-MiniLM-L6-v2 shapes, 12 heads). */
    static ModelShapes.Encoder encoder(String scenario) {
        return scenario.startsWith("minilm") ? ModelShapes.MINILM : ModelShapes.BERT_BASE;
    }

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        LibtorchComparison.startLibtorch(threads);
        if (System.getenv("THP_MEM_ALLOC_ENABLE") != null || System.getenv("C10_THP_MEM_ALLOC_ENABLE") != null) {
            // see compare.sh: with it libtorch refaults huge pages every step and once gave a wrong loss here
            System.out.println("[setup] warning: THP_MEM_ALLOC_ENABLE is set; libtorch's training step is slower with it "
                    + "(and its loss check failed twice on this VM): unset it for a fair comparison");
        }
        ModelShapes.Encoder e = encoder(scenario);
        int[] bs = ModelShapes.batchSeq(scenario.substring(scenario.indexOf('-') + 1));
        Path dir = RandomBert.folder(e, 12);
        ids = ModelShapes.bertIds(bs[0], bs[1]);
        labelIds = new long[bs[0]];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < labelIds.length; i++) {
            labelIds[i] = r.nextInt(RandomBert.LABELS);
        }
        input = ModelInput.of(ids).withAttentionMask(ModelShapes.ones(bs[0], bs[1]));
        labels = Labels.of(Tensor.ofLongs(labelIds, labelIds.length));

        Backend backend = Backends.create("cpu", threads);
        model = TrainableModel.load(dir, backend);
        adamW = new AdamW(model.parameterGroups(TorchBertTraining.WEIGHT_DECAY), TorchBertTraining.BETA1,
                TorchBertTraining.BETA2, TorchBertTraining.EPS);
        manager = NDManager.newBaseManager();
        try (WeightSource src = Checkpoints.open(dir)) {
            torch = new TorchBertTraining(manager, new TorchWeights(manager, src, "bert."), new TorchWeights(manager, src, ""),
                    e.layers(), e.hidden(), 12);
        }
        float ours1 = jformersStep(), theirs1 = torchStep();
        float ours2 = jformersStep(), theirs2 = torchStep();
        check("first step's loss", ours1, theirs1);
        check("second step's loss (after an AdamW step)", ours2, theirs2);

        measured = params.getBenchmark().endsWith(".jformers") ? "jformers" : "libtorch";
        if (measured.equals("jformers")) {   // only the measured engine keeps its memory and threads
            manager.close();
            manager = null;
            torch = null;
        } else {
            model.autograd().close();
            model = null;
        }
        System.gc();
        resetPeaks();
        steps = 0;
        cpuAtStart = processCpuNanos();
        allocatedAtStart = allocatedBytes();
    }

    /**
     * Heap bytes allocated so far by all the JVM's threads, those that ended included (the workers' share is in it, which
     * a per-thread count would miss).
     */
    static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getTotalThreadAllocatedBytes();
    }

    /**
     * MB per step above which a jformers step is flagged as boxing: a warm step allocates a few MB to a few tens of MB
     * (its recycled buffers are reused), a boxed Vector API kernel hundreds of MB to GBs.
     */
    static double allocationWarningMb() {
        return Double.parseDouble(System.getProperty(ALLOCATION_WARNING_PROPERTY, String.valueOf(ALLOCATION_WARNING_MB)));
    }

    /** The line that flags a jformers step allocating more than {@link #allocationWarningMb}, or null. */
    static String allocationWarning(String what, double mbPerStep) {
        if (!(mbPerStep > allocationWarningMb())) {
            return null;
        }
        return String.format(Locale.ROOT, "[warning] %s: jformers allocated %.0f MB of Java heap per step (flagged above %.0f MB; "
                + "a warm step allocates tens of MB at most): C2 probably compiled a Vector API kernel with its vectors boxed "
                + "(docs/benchmarks-models.md, \"boxed kernels\"). This fork's times are not "
                + "jformers' speed: rerun it, and find the kernel with WhereTrainingTimeGoes' MB column or JFR's "
                + "jdk.ObjectAllocationSample", what, mbPerStep, allocationWarningMb());
    }

    @Setup(Level.Iteration)
    public void iterationStart() {
        stepsAtIteration = steps;
        allocatedAtIteration = allocatedBytes();
        gcMillisAtIteration = WhereTimeGoes.gcMillis();
    }

    @TearDown(Level.Iteration)
    public void iterationEnd() {
        long n = steps - stepsAtIteration;
        if (n == 0) {
            return;
        }
        double mb = (allocatedBytes() - allocatedAtIteration) / 1e6 / n;
        // GC time tells a boxed kernel (much allocation, short young collections) from a full heap (long collections)
        System.out.printf(Locale.ROOT, "%n[memory] %s: %d step(s), %.1f MB allocated and %.0f ms of GC per step (all threads)%n",
                measured, n, mb, (double) (WhereTimeGoes.gcMillis() - gcMillisAtIteration) / n);
        String warning = measured.equals("jformers") ? allocationWarning("this iteration", mb) : null;
        if (warning != null) {
            System.out.println(warning);
        }
    }

    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static void check(String what, float ours, float theirs) {
        double diff = Math.abs((double) ours - theirs);
        System.out.printf(Locale.ROOT, "[check] %s: jformers %.6f, libtorch %.6f, |difference| %.3g%n", what, ours, theirs, diff);
        if (!(diff <= TOLERANCE)) {
            throw new IllegalStateException("jformers and libtorch disagree on the " + what + " (" + ours + " vs " + theirs
                    + "); not benchmarking a wrong answer");
        }
    }

    private float jformersStep() {
        Tensor loss = model.forward(input, labels).get("loss");
        float value = loss.toFloatArray()[0];
        model.backward(loss);
        model.step(adamW, LR);
        return value;
    }

    private float torchStep() {
        try (NDScope scope = new NDScope()) {
            float loss = torch.forwardBackward(manager, ids, labelIds);
            torch.adamW(LR);
            return loss;
        }
    }

    /** Peak RSS: VmHWM, reset by writing 5 to clear_refs (Linux); heap: the pools' peaks. */
    static void resetPeaks() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | RuntimeException e) {
            System.out.println("[memory] cannot reset the peak RSS: " + e.getMessage());
        }
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            pool.resetPeakUsage();
        }
    }

    static long peakHeapBytes() {
        long sum = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                sum += pool.getPeakUsage().getUsed();
            }
        }
        return sum;
    }

    static long peakRssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        double cpuMsPerStep = (processCpuNanos() - cpuAtStart) / 1e6 / Math.max(1, steps);
        double mbPerStep = (allocatedBytes() - allocatedAtStart) / 1e6 / Math.max(1, steps);
        String line = String.format(Locale.ROOT, "%s\t%d\t%s\t%d\t%d\t%.1f\t%.1f%n", scenario, threads, measured, peakHeapBytes(),
                peakRssBytes(), cpuMsPerStep, mbPerStep);
        System.out.print("[memory] scenario, threads, engine, peak heap bytes, peak RSS bytes, CPU ms per step, MB allocated per step: "
                + line);
        String warning = measured.equals("jformers") ? allocationWarning("the whole trial", mbPerStep) : null;
        if (warning != null) {
            System.out.println(warning);
        }
        Path log = memoryLog();
        try {
            Files.writeString(log, line, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (manager != null) {
            manager.close();
        }
        if (model != null) {
            model.autograd().close();
        }
    }

    static Path memoryLog() {
        return Path.of(System.getProperty(MEMORY_LOG_PROPERTY,
                Path.of(System.getProperty("java.io.tmpdir"), "jformers-training-memory.tsv").toString()));
    }

    @Benchmark
    public float jformers() {
        steps++;
        return jformersStep();
    }

    @Benchmark
    public float libtorch() {
        steps++;
        return torchStep();
    }
}
