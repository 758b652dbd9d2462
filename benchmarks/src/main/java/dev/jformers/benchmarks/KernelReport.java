package dev.jformers.benchmarks;

import dev.jformers.benchmarks.models.ModelShapes;
import dev.jformers.cpu.SimdBackend;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Runs the kernel benchmarks with a short configuration (1 fork, 2 warm-up × 1 s, 3 × 1 s) and prints a
 * markdown table: first the share of the FMA peak (or, for M = 1, of the read bandwidth) measured in the
 * same run ({@link PeakBenchmark}), then GFLOP/s, GB/s and the nominal peak of docs/benchmarks.md. A case
 * whose iterations spread by more than 10% is run again and, if it still does, printed as a range marked
 * drifting ({@link Drift}).
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.jformers.benchmarks.KernelReport [regex]} (see run.sh);
 * the regex narrows which benchmarks run (default: all three classes). {@code -Djformers.bench.param.NAME=a,b}
 * sets a JMH parameter's values, e.g. {@code -Djformers.bench.param.weights=f32,int8
 * -Djformers.bench.param.shape=1x768x50257 -Djformers.bench.param.threads=1} for GPT-2's LM-head GEMV in both
 * formats alone; a GEMV's weight GB/s and share of the read bandwidth count the bytes its format streams (int8:
 * 1 + 2/32 a weight, bf16: 2, f32: 4).
 */
public final class KernelReport {
    /** The nominal FP32 FMA peak of the reference machine (2-core AMD EPYC), GFLOP/s on 1 and 2 cores. */
    static final double[] NOMINAL_PEAK = {0, 287, 570};

    /** System properties that set a JMH parameter's values: {@code jformers.bench.param.weights=f32,int8}. */
    static final String PARAM_PREFIX = "jformers.bench.param.";

    private KernelReport() {
    }

    public static void main(String[] args) throws RunnerException {
        String include = args.length > 0 ? args[0] : "dev\\.jformers\\.(benchmarks\\.(Peak|Gemm|RowOps)|cpu\\.(KernelLoop|GemmKernel))Benchmark";
        List<String> forkFlags = new ArrayList<>(ForkFlags.base());
        OptionsBuilder builder = new OptionsBuilder();
        for (String p : System.getProperties().stringPropertyNames()) {   // forks don't inherit system properties;
            if (p.startsWith(PARAM_PREFIX)) {                             // this list replaces the @Fork flags
                builder.param(p.substring(PARAM_PREFIX.length()), System.getProperty(p).split(","));
            } else if (p.startsWith("jformers.")) {
                forkFlags.add("-D" + p + "=" + System.getProperty(p));   // (width, weights, the split properties)
            }
        }
        String loadBefore = Machine.loadAverage();
        Options options = builder
                .include(include)
                .include("dev\\.jformers\\.benchmarks\\.PeakBenchmark")   // the bounds, in the same run whatever the pattern
                .jvmArgsAppend(forkFlags.toArray(String[]::new))
                .forks(1)
                .warmupIterations(2).warmupTime(TimeValue.seconds(1))
                .measurementIterations(3).measurementTime(TimeValue.seconds(1))
                .build();
        Collection<RunResult> results = Drift.rerunDrifting(new Runner(options).run(), options);
        System.out.println();
        System.out.printf("Load average (1, 5, 15 min) before: %s; after: %s. Transparent huge pages: `%s`%s.%n", loadBefore,
                Machine.loadAverage(), ForkFlags.thpMode(), ForkFlags.hugePagesOffered() ? ", forks run with " + ForkFlags.HUGE_PAGES : "");
        System.out.print(markdown(results));
    }

    static String markdown(Collection<RunResult> results) {
        double[] peak = new double[3], bandwidth = new double[3];
        boolean[] boundDrifts = new boolean[3];
        List<RunResult> gemm = new ArrayList<>(), gemmKernel = new ArrayList<>(), recycled = new ArrayList<>(),
                rowOps = new ArrayList<>(), loops = new ArrayList<>();
        for (RunResult r : results) {
            String method = method(r);
            double opsPerSecond = r.getPrimaryResult().getScore();
            switch (method) {
                case "fma1" -> peak[1] = opsPerSecond * PeakBenchmark.fmaFlops() / 1e9;
                case "fma2" -> peak[2] = opsPerSecond * PeakBenchmark.fmaFlops() / 1e9;
                case "read1" -> bandwidth[1] = opsPerSecond * PeakBenchmark.READ_FLOATS * 4.0 / 1e9;
                case "read2" -> bandwidth[2] = opsPerSecond * PeakBenchmark.READ_FLOATS * 4.0 / 1e9;
                case "linear" -> gemm.add(r);
                case "gemmIntoPreallocatedOutput" -> gemmKernel.add(r);
                case "linearRecycled" -> recycled.add(r);
                default -> (r.getParams().getBenchmark().contains("KernelLoop") ? loops : rowOps).add(r);
            }
            if (method.matches("(fma|read)[12]") && Drift.drifting(r)) {
                boundDrifts[method.charAt(method.length() - 1) - '0'] = true;
            }
        }
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "Date %s; %s; %d processors; JDK %s; %s.%n%n", LocalDate.now(), Machine.cpuModel(),
                Runtime.getRuntime().availableProcessors(), Runtime.version(), widthNote()));
        out.append("| bound (measured in this run) | 1 thread | 2 threads |\n|---|---:|---:|\n");
        out.append(String.format(Locale.ROOT, "| FP32 FMA peak, GFLOP/s | %.1f | %.1f |%n", peak[1], peak[2]));
        out.append(String.format(Locale.ROOT, "| read bandwidth, GB/s | %.1f | %.1f |%n", bandwidth[1], bandwidth[2]));
        if (boundDrifts[1] || boundDrifts[2]) {
            out.append("\nThe bounds themselves drifted in this run (the machine is not quiet): every % below is uncertain.\n");
        }
        out.append('\n');

        out.append("For M = 1 the bound is the read bandwidth on the same number of threads measured in the same fork before"
                + " each iteration (SameRunBandwidth), given in brackets; the table above's figure when that is missing.\n\n");
        out.append("| linear M×K×N | threads | % of measured bound (peak; read bandwidth for M = 1) | ms/call | GFLOP/s | % nominal peak"
                + " | weight GB/s | output recycled, as in a model: GFLOP/s (% measured peak) | without allocating the output: GFLOP/s (% measured peak) |\n");
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (RunResult r : gemm) {
            String shape = r.getParams().getParam("shape");
            int threads = Integer.parseInt(r.getParams().getParam("threads"));
            String[] mkn = shape.split("x");
            double m = Double.parseDouble(mkn[0]), k = Double.parseDouble(mkn[1]), n = Double.parseDouble(mkn[2]);
            String weights = weightsOf(r);
            double bytes = ModelShapes.bytesPerWeight(weights) * k * n;   // the weight as kept
            double ops = r.getPrimaryResult().getScore();
            double gflops = ops * 2 * m * k * n / 1e9, gbs = ops * bytes / 1e9;
            boolean memoryBound = m == 1;
            // % of the bound per call: GFLOP/s over the peak, or weight GB/s over the read bandwidth
            double sameRun = PeakBenchmark.sameRunGigabytesPerSecond(r);
            double bound = memoryBound ? (Double.isNaN(sameRun) ? bandwidth[threads] : sameRun) : peak[threads];
            double percentPerOp = 100 * (memoryBound ? bytes : 2 * m * k * n) / 1e9 / bound;
            String share = bound <= 0 ? "– (bound not measured)" : Drift.drifting(r) ? Drift.range(r, "%.0f%%", percentPerOp)
                    : String.format(Locale.ROOT, "%.0f%%", ops * percentPerOp);
            double kernelGflops = gflops(gemmKernel, shape, threads, weights, 2 * m * k * n);
            double recycledGflops = gflops(recycled, shape, threads, weights, 2 * m * k * n);
            out.append(String.format(Locale.ROOT, "| %s | %d | %s%s | %.3f | %.1f | %s | %s | %s | %s |%n",
                    shape.replace("x", "×") + (weights.equals("f32") ? "" : " " + weights),
                    threads, share, memoryBound && !Double.isNaN(sameRun) ? String.format(Locale.ROOT, " (of %.1f GB/s)", sameRun) : "",
                    1e3 / ops, gflops, percent(gflops, NOMINAL_PEAK[threads]),
                    memoryBound ? String.format(Locale.ROOT, "%.1f", gbs) : "–",
                    withPeak(recycledGflops, memoryBound ? Double.NaN : peak[threads]), withPeak(kernelGflops, peak[threads])));
        }
        // GemmKernelBenchmark cases run without their GemmBenchmark partner (e.g. quiet-run.sh's 'GemmKernelBenchmark|PeakBenchmark')
        List<RunResult> kernelOnly = gemmKernel.stream().filter(g -> Double.isNaN(gflops(gemm, g.getParams().getParam("shape"),
                Integer.parseInt(g.getParams().getParam("threads")), weightsOf(g), 1))).toList();
        if (!kernelOnly.isEmpty()) {
            out.append("\n| GEMM kernel alone (output preallocated) M×K×N | threads | weight copies | % of measured peak | µs/call | GFLOP/s |\n");
            out.append("|---|---:|---:|---:|---:|---:|\n");
            for (RunResult r : kernelOnly) {
                String shape = r.getParams().getParam("shape");
                int threads = Integer.parseInt(r.getParams().getParam("threads"));
                double flops = 2;
                for (String d : shape.split("x")) {
                    flops *= Double.parseDouble(d);
                }
                double percentPerOp = 100 * flops / 1e9 / peak[threads];
                String share = !(peak[threads] > 0) ? "– (peak not measured)" : Drift.drifting(r) ? Drift.range(r, "%.0f%%", percentPerOp)
                        : String.format(Locale.ROOT, "%.1f%%", r.getPrimaryResult().getScore() * percentPerOp);
                String copies = r.getParams().getParam("weightCopies");
                out.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %.1f |%n", shape.replace("x", "×"), threads,
                        copies == null ? "1" : copies, share, microseconds(r), r.getPrimaryResult().getScore() * flops / 1e9));
            }
        }
        out.append("\n| op | threads | µs/call | GB/s (read + write) | µs/call of it allocating the output |\n");
        out.append("|---|---:|---:|---:|---:|\n");
        for (RunResult r : rowOps) {
            String method = method(r);
            if (method.startsWith("zeros")) {
                continue;
            }
            String size = method.replaceFirst("^[a-zA-Z]+", "");   // "128x768" of "layerNorm128x768"
            int threads = Integer.parseInt(r.getParams().getParam("threads"));
            long elements = 1;
            for (String d : size.split("x")) {
                elements *= Long.parseLong(d);
            }
            double ops = r.getPrimaryResult().getScore();
            double allocation = rowOps.stream()
                    .filter(z -> method(z).equals("zeros" + size) && z.getParams().getParam("threads").equals(String.valueOf(threads)))
                    .mapToDouble(z -> 1e6 / z.getPrimaryResult().getScore()).findFirst().orElse(Double.NaN);
            out.append(String.format(Locale.ROOT, "| %s | %d | %s | %.1f | %.1f |%n", method, threads, microseconds(r),
                    ops * elements * 8 / 1e9, allocation));
        }
        out.append("\n| inner loop only (1 thread, no allocation) | µs/call | GB/s (read + write) |\n|---|---:|---:|\n");
        for (RunResult r : loops) {
            String method = method(r);
            long elements = 1;
            for (String d : method.replaceFirst("^[a-zA-Z]+", "").split("x")) {
                elements *= Long.parseLong(d);
            }
            double ops = r.getPrimaryResult().getScore();
            out.append(String.format(Locale.ROOT, "| %s | %s | %.1f |%n", method, microseconds(r), ops * elements * 8 / 1e9));
        }
        return out.toString();
    }

    /** GFLOP/s of the result in list for this shape and thread count ({@code flops} per call), or NaN. */
    private static double gflops(List<RunResult> list, String shape, int threads, String weights, double flops) {
        return list.stream()
                .filter(g -> g.getParams().getParam("shape").equals(shape) && g.getParams().getParam("threads").equals(String.valueOf(threads))
                        && weightsOf(g).equals(weights))
                .mapToDouble(g -> g.getPrimaryResult().getScore() * flops / 1e9).findFirst().orElse(Double.NaN);
    }

    /** A result's weights parameter: f32 where the benchmark has none. */
    private static String weightsOf(RunResult r) {
        String weights = r.getParams().getParam("weights");
        return weights == null ? "f32" : weights;
    }

    /** "107.8 (92%)", the figure alone without a bound, "–" without a figure. */
    private static String withPeak(double gflops, double peak) {
        return Double.isNaN(gflops) ? "–" : Double.isNaN(peak) ? String.format(Locale.ROOT, "%.1f", gflops)
                : String.format(Locale.ROOT, "%.1f (%s)", gflops, percent(gflops, peak));
    }

    /** µs per call of a throughput result, or the range of its iterations when they drift. */
    private static String microseconds(RunResult r) {
        if (Drift.drifting(r)) {   // µs = 1e6 / (ops/s): the fastest iteration gives the smallest figure
            double[] s = Drift.iterations(r);
            double fast = Arrays.stream(s).max().orElse(Double.NaN), slow = Arrays.stream(s).min().orElse(Double.NaN);
            return String.format(Locale.ROOT, "%.1f–%.1f (drifting %d%%)", 1e6 / fast, 1e6 / slow, Math.round(Drift.spread(r) * 100));
        }
        return String.format(Locale.ROOT, "%.1f", 1e6 / r.getPrimaryResult().getScore());
    }

    private static String method(RunResult r) {
        String b = r.getParams().getBenchmark();
        return b.substring(b.lastIndexOf('.') + 1);
    }

    private static String percent(double value, double bound) {
        return bound > 0 ? String.format(Locale.ROOT, "%.0f%%", 100 * value / bound) : "–";
    }

    private static String widthNote() {
        String prop = System.getProperty(SimdBackend.BITS_PROPERTY);
        String others = System.getProperties().stringPropertyNames().stream().filter(p -> p.startsWith("jformers."))
                .filter(p -> !p.equals(SimdBackend.BITS_PROPERTY)).sorted().map(p -> p + "=" + System.getProperty(p))
                .reduce((a, b) -> a + ", " + b).map(list -> "; " + list).orElse("");
        return "vector width " + (prop == null ? "preferred (" + System.getProperty("os.arch") + ")" : prop) + others;
    }
}
