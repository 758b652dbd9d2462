package dev.jformers.benchmarks;

import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Cases whose measured iterations disagree. A machine shared with other work (or one whose clock moves)
 * shows it as iterations that spread: one mean of 3 such iterations is a figure that means nothing. So a
 * case whose iterations spread by more than {@value #LIMIT_PERCENT}% is run once more; if the second
 * run spreads as well, the reports print its range and say "drifting" instead of one number, and no ratio.
 */
public final class Drift {
    static final int LIMIT_PERCENT = 10;

    private Drift() {
    }

    /** The measured iterations' scores of one case (all forks). */
    public static double[] iterations(RunResult r) {
        List<Double> scores = new ArrayList<>();
        for (BenchmarkResult b : r.getBenchmarkResults()) {
            for (IterationResult i : b.getIterationResults()) {
                scores.add(i.getPrimaryResult().getScore());
            }
        }
        return scores.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** (max − min) / min of the iterations, 0 for fewer than two. */
    public static double spread(RunResult r) {
        double[] s = iterations(r);
        if (s.length < 2) {
            return 0;
        }
        double min = Double.MAX_VALUE, max = -Double.MAX_VALUE;
        for (double v : s) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        return min > 0 ? (max - min) / min : 0;
    }

    public static boolean drifting(RunResult r) {
        return r != null && spread(r) * 100 > LIMIT_PERCENT;
    }

    /** "min–max" of the iterations in the given format (scaled), for a drifting case's cell. */
    public static String range(RunResult r, String format, double scale) {
        double[] s = iterations(r);
        double min = Double.MAX_VALUE, max = -Double.MAX_VALUE;
        for (double v : s) {
            min = Math.min(min, v * scale);
            max = Math.max(max, v * scale);
        }
        return String.format(Locale.ROOT, format, min) + "–" + String.format(Locale.ROOT, format, max)
                + " (drifting " + Math.round(spread(r) * 100) + "%)";
    }

    /**
     * Runs every drifting case of {@code results} once more with the same options (its benchmark and
     * parameters pinned) and keeps, per case, the run whose iterations spread less. Says on stdout which
     * cases it repeated.
     */
    public static List<RunResult> rerunDrifting(Collection<RunResult> results, Options options) throws RunnerException {
        List<RunResult> out = new ArrayList<>();
        for (RunResult r : results) {
            if (!drifting(r)) {
                out.add(r);
                continue;
            }
            String name = r.getParams().getBenchmark();
            System.out.printf(Locale.ROOT, "%nDrift: %s %s spread %.0f%% over its iterations; running it again.%n", name,
                    describe(r), spread(r) * 100);
            // The run's settings copied one by one: OptionsBuilder.parent would add the parent's includes
            // to this one, and run everything again.
            ChainedOptionsBuilder again = new OptionsBuilder().include("^" + Pattern.quote(name) + "$");
            if (options.getJvmArgsAppend().hasValue()) {
                again.jvmArgsAppend(options.getJvmArgsAppend().get().toArray(String[]::new));
            }
            if (options.getForkCount().hasValue()) {
                again.forks(options.getForkCount().get());
            }
            if (options.getWarmupIterations().hasValue()) {
                again.warmupIterations(options.getWarmupIterations().get());
            }
            if (options.getWarmupTime().hasValue()) {
                again.warmupTime(options.getWarmupTime().get());
            }
            if (options.getMeasurementIterations().hasValue()) {
                again.measurementIterations(options.getMeasurementIterations().get());
            }
            if (options.getMeasurementTime().hasValue()) {
                again.measurementTime(options.getMeasurementTime().get());
            }
            again.shouldFailOnError(false);
            for (String key : r.getParams().getParamsKeys()) {
                again.param(key, r.getParams().getParam(key));
            }
            RunResult best = r;
            for (RunResult second : new Runner(again.build()).run()) {
                if (spread(second) < spread(best)) {
                    best = second;
                }
            }
            out.add(best);
        }
        return out;
    }

    private static String describe(RunResult r) {
        StringBuilder s = new StringBuilder("{");
        for (String key : r.getParams().getParamsKeys()) {
            s.append(s.length() > 1 ? ", " : "").append(key).append('=').append(r.getParams().getParam(key));
        }
        return s.append('}').toString();
    }
}
