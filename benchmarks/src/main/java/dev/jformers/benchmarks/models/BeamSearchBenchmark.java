package dev.jformers.benchmarks.models;

import dev.jformers.benchmarks.ForkFlags;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.models.AutoModelForCausalLM;
import dev.jformers.models.CausalLM;
import dev.jformers.models.generation.GenerationConfig;
import dev.jformers.models.generation.Generator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Beam search against greedy decoding on GPT-2 124M-shaped random weights ({@link RandomGpt2}): a 32-token prompt,
 * {@value #NEW_TOKENS} new tokens (no eos: every step runs), KV cache. The score is decoding steps per second
 * (one new token per sequence; beam search's beams run as one batch of num_beams rows, and its cache rows are
 * gathered by index after each step). Beam tokens/s = steps/s × num_beams.
 *
 * <pre>
 *   java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar BeamSearchBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", ForkFlags.HUGE_PAGES})
@Warmup(iterations = 1, time = 5)
@Measurement(iterations = 3, time = 5)
public class BeamSearchBenchmark {
    static final int NEW_TOKENS = 32;

    /** 1: greedy; 4: beam search with 4 beams. */
    @Param({"1", "4"})
    public int numBeams;

    @Param({"1"})
    public int threads;

    private Backend backend;
    private Generator generator;
    private GenerationConfig config;
    private long[] prompt;

    @Setup(Level.Trial)
    public void setup() {
        backend = Backends.create("cpu", threads);
        generator = new Generator((CausalLM) AutoModelForCausalLM.fromPretrained(RandomGpt2.folder(), backend));
        config = GenerationConfig.greedy(NEW_TOKENS, null).with("num_beams", numBeams).with("pad_token_id", 0);
        prompt = ModelShapes.gpt2Prompt();
    }

    @TearDown(Level.Trial)
    public void close() {
        backend.close();
    }

    /** One whole generation; the score is per decoding step. */
    @Benchmark
    @OperationsPerInvocation(NEW_TOKENS)
    public long[] generate() {
        return generator.generate(prompt, config, null);
    }
}
