package dev.jformers.benchmarks.models;

import dev.jformers.benchmarks.Machine;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.models.AutoModelForCausalLM;
import dev.jformers.models.generation.GenerationConfig;
import dev.jformers.models.generation.Generator;
import dev.jformers.models.gpt2.GPT2LMHeadModel;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Locale;

/**
 * GPT-2 124M-shaped greedy decoding (random weights, 32-token prompt + 128 new tokens) without any profiler: per
 * round, the CPU time (or wall time) of {@code calls} whole generations less that of {@code calls} prompt passes,
 * per one-token step, and the heap the calling thread allocated per step. For A/B runs on a loaded machine and for
 * {@code perf record} (nothing but decoding runs between the warm-up and the end).
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -XX:+UseTransparentHugePages [-Djformers.cpu.weights=int8]
 * -Djformers.bench.cpuTime=true -cp benchmarks.jar dev.jformers.benchmarks.models.DecodeSteps [rounds] [calls] [threads]}.
 */
public final class DecodeSteps {
    private DecodeSteps() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 4;
        int calls = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        System.out.println(Machine.describe());
        Backend backend = Backends.create("cpu", threads);
        GPT2LMHeadModel model = (GPT2LMHeadModel) AutoModelForCausalLM.fromPretrained(RandomGpt2.folder(), backend);
        Generator g = new Generator(model);
        long[] prompt = ModelShapes.gpt2Prompt();
        GenerationConfig config = GenerationConfig.greedy(ModelShapes.GPT2_NEW_TOKENS, null);
        GenerationConfig first = GenerationConfig.greedy(1, null);
        long[] tokens = g.generate(prompt, config, null);
        System.out.printf(Locale.ROOT, "%s, weights %s; tokens (first 16 new): %s%n", backend.describe(),
                System.getProperty("jformers.cpu.weights", "f32"),
                Arrays.toString(Arrays.copyOfRange(tokens, prompt.length, prompt.length + 16)));
        for (int i = 0; i < 3; i++) {   // warm-up
            g.generate(prompt, config, null);
            g.generate(prompt, first, null);
        }
        var bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        int steps = ModelShapes.GPT2_NEW_TOKENS - 1;
        double best = Double.MAX_VALUE;
        for (int r = 0; r < rounds; r++) {
            long a0 = bean.getCurrentThreadAllocatedBytes();
            long u0 = TimingBackend.now();
            for (int i = 0; i < calls; i++) {
                g.generate(prompt, config, null);
            }
            long u1 = TimingBackend.now();
            long a1 = bean.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < calls; i++) {
                g.generate(prompt, first, null);
            }
            long u2 = TimingBackend.now();
            long a2 = bean.getCurrentThreadAllocatedBytes();
            double step = ((u1 - u0) - (u2 - u1)) / 1e6 / calls / steps;
            double alloc = ((a1 - a0) - (a2 - a1)) / (double) calls / steps;
            best = Math.min(best, step);
            System.out.printf(Locale.ROOT, "round %d: %.3f ms a step (%s), prompt pass %.2f ms, %.0f bytes allocated a step%n",
                    r, step, TimingBackend.CPU_TIME ? "CPU time" : "wall", (u2 - u1) / 1e6 / calls, alloc);
        }
        System.out.printf(Locale.ROOT, "best %.3f ms a step%n", best);
        backend.close();
    }
}
