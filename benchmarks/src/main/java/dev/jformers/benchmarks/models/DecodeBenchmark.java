package dev.jformers.benchmarks.models;

import dev.jformers.benchmarks.ForkFlags;
import dev.jformers.benchmarks.SameRunBandwidth;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.models.AutoModelForCausalLM;
import dev.jformers.models.generation.GenerationConfig;
import dev.jformers.models.generation.Generator;
import dev.jformers.models.gpt2.GPT2LMHeadModel;
import org.openjdk.jmh.annotations.AuxCounters;
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

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * GPT-2 124M-shaped greedy decoding (random weights, 32-token prompt, 128 new tokens, KV cache) with the linear
 * weights kept in float32, bfloat16 or int8 ({@code jformers.cpu.weights}), on 1 and 2 threads; jformers only
 * (libtorch's fp32 decoding is in {@link LibtorchComparison}). One call is a whole generation (the score); within it,
 * {@link PromptAndSteps} times the prompt pass (time to the first token: the 32-token forward, the LM head of its last
 * row and the argmax) apart from the 127 one-token steps after it, as llama.cpp's "prompt eval" and "eval" — decoding
 * speed is the steps' ms per token, and the prompt's share is shown, not hidden. {@link ModelReport} sets the steps'
 * weight bytes against the read bandwidth on the same number of threads measured in the same fork right before and
 * after each iteration ({@link SameRunBandwidth}; PeakBenchmark's figure minutes apart when that is missing):
 * {@code benchmarks/compare.sh 'dev\.jformers\.benchmarks\.(PeakBenchmark|models\.DecodeBenchmark)'}.
 *
 * <p>The setup prints the first 16 greedy tokens next to float32's. On random weights the logits are nearly
 * flat, so equal tokens are a strong sign and a difference a weak one (real GPT-2 weights cannot be had here).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", ForkFlags.HUGE_PAGES})
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
public class DecodeBenchmark {
    static final int CHECK_TOKENS = 16;

    @Param({"f32", "bf16", "int8"})
    public String weights;

    @Param({"1", "2"})
    public int threads;

    private Backend backend;
    private Generator generator;
    private long[] prompt;
    private final GenerationConfig greedy = GenerationConfig.greedy(ModelShapes.GPT2_NEW_TOKENS, null);

    @Setup(Level.Trial)
    public void setup() {
        prompt = ModelShapes.gpt2Prompt();
        long[] exact = weights.equals("f32") ? null : load("f32");   // the float32 reference first, then the measured model
        long[] ours = load(weights);
        exact = exact == null ? ours : exact;
        System.out.printf("%n[check] %s: first %d greedy tokens %s; float32's %s (%s)%n", backend.describe(), CHECK_TOKENS,
                Arrays.toString(ours), Arrays.toString(exact), Arrays.equals(ours, exact) ? "equal" : "DIFFERENT");
    }

    /** Loads the model with {@code kind} weights into {@link #backend} and {@link #generator}; returns its first greedy tokens. */
    private long[] load(String kind) {
        if (backend != null) {
            backend.close();
        }
        System.setProperty("jformers.cpu.weights", kind);
        try {
            backend = Backends.create("cpu", threads);
        } finally {
            System.clearProperty("jformers.cpu.weights");
        }
        generator = new Generator((GPT2LMHeadModel) AutoModelForCausalLM.fromPretrained(RandomGpt2.folder(), backend));
        long[] out = generator.generate(prompt, GenerationConfig.greedy(CHECK_TOKENS, null), null);
        return Arrays.copyOfRange(out, prompt.length, out.length);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
    }

    /**
     * One generation; {@code bandwidth} measures the read bandwidth on {@link #threads} threads around each iteration,
     * {@code split} adds up the prompt pass and the steps after it.
     */
    @Benchmark
    public long generate(SameRunBandwidth bandwidth, PromptAndSteps split) {
        long start = System.nanoTime();
        long[] firstToken = {0};
        long[] out = generator.generate(prompt, greedy, (step, tokens) -> {
            if (step == 0) {
                firstToken[0] = System.nanoTime();
            }
        });
        long end = System.nanoTime();
        split.promptNanos += firstToken[0] - start;
        split.stepNanos += end - firstToken[0];
        split.steps += out.length - prompt.length - 1;
        split.generations++;
        return out[out.length - 1];
    }

    /**
     * Where a generation's time goes, summed over an iteration's calls (JMH reports the sums as secondary results;
     * {@link ModelReport} divides them): the prompt pass up to the first new token, and the one-token steps after it.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class PromptAndSteps {
        /** Prompt pass (the first token's forward, LM head and choice), ns. */
        public long promptNanos;
        /** The one-token steps after it, ns. */
        public long stepNanos;
        /** How many such steps. */
        public long steps;
        /** Generations (calls). */
        public long generations;
    }
}
