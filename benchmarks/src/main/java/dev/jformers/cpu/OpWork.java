package dev.jformers.cpu;

import dev.jformers.benchmarks.Machine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The work of each operation of an encoder forward on 1 thread and on 2: per backend call, the caller's CPU time
 * (its tasks, its part outside them and its wait for the helper) plus the CPU time of the helper's tasks in that call
 * ({@link WorkerPool.Stats}), summed by operation over a forward; the median over the rounds, forwards of the variants
 * alternated. An operation whose 2-thread work is above its 1-thread CPU time costs that much more for being split
 * (re-read inputs, lines that the other core wrote, the second pass of a LayerNorm after a split by panels, hand-offs,
 * waiting). Needs {@code -Djformers.cpu.poolStats=true}; {@code -Djformers.bench.pin=true} pins the caller and the
 * helper to CPUs 0 and 1 (with {@code nice -n -19} on a loaded machine).
 *
 * <p>{@code java --add-modules jdk.incubator.vector -XX:+UseTransparentHugePages -Djformers.cpu.poolStats=true -cp
 * benchmarks.jar dev.jformers.cpu.OpWork [minilm|e5|bert] [BxT] [rounds] [variant,variant,...]} (variants as in
 * {@link EncoderThreads#configure}; the first is the reference of the ratios).
 */
public final class OpWork {
    private OpWork() {
    }

    public static void main(String[] args) throws Exception {
        System.out.println(Machine.describe());
        if (!WorkerPool.STATS) {
            throw new IllegalStateException("run with -D" + WorkerPool.STATS_PROPERTY + "=true");
        }
        EncoderThreads.EncoderArgs a = EncoderThreads.EncoderArgs.parse(args, "e5");
        String[] variants = a.variants();
        int n = variants.length, rounds = a.rounds();
        List<EncoderThreads.TimedModel> models = new ArrayList<>();
        for (String v : variants) {
            EncoderThreads.TimedModel model = EncoderThreads.TimedModel.of(a.id(), v);
            model.timing().extraClock(WorkerPool.Stats.HELPER_CPU::sum);
            model.forward(a.input(), false);   // starts the helper, if any
            models.add(model);
        }
        if (ThreadPins.wanted()) {
            ThreadPins.pinCallerAndHelpers();
        }
        String placement = CoreToCore.probe();   // where the two vCPUs are (they move: see CoreToCore), before and after
        // per variant, per operation key: per round {caller CPU, helper's task CPU, wall}
        List<Map<String, long[][]>> byKey = new ArrayList<>();
        long[][] outside = new long[n][rounds], forwardWall = new long[n][rounds];
        for (int v = 0; v < n; v++) {
            byKey.add(new LinkedHashMap<>());
        }
        for (int round = -Math.max(5, rounds / 4); round < rounds; round++) {   // negative rounds warm up
            for (int v = 0; v < n; v++) {
                EncoderThreads.TimedModel.Forward f = models.get(v).forward(a.input(), round >= 0);
                if (round < 0) {
                    continue;
                }
                long inside = 0;
                for (Object[] call : f.trace()) {
                    long[][] k = byKey.get(v).computeIfAbsent((String) call[0], x -> new long[rounds][3]);
                    k[round][0] += (Long) call[2];
                    k[round][1] += (Long) call[3];
                    k[round][2] += (Long) call[1];
                    inside += (Long) call[2];
                }
                outside[v][round] = f.cpu() - inside;
                forwardWall[v][round] = f.wall();
            }
        }
        System.out.println(placement + " (before)");
        System.out.println(CoreToCore.probe() + " (after)");
        System.out.printf(Locale.ROOT, "%n%s b%d×s%d, %d rounds: per forward, medians over the rounds, µs — the caller's CPU + the helper's task "
                + "CPU = work; wall (timing on)%n%n", a.id(), a.batchSeq()[0], a.batchSeq()[1], rounds);
        StringBuilder head = new StringBuilder("| operation |"), rule = new StringBuilder("|---|");
        for (int v = 0; v < n; v++) {
            head.append(String.format(" %s caller + helper = work | %s wall |", variants[v], variants[v]));
            rule.append("---:|---:|");
        }
        if (n > 1) {
            head.append(" work / ").append(variants[0]).append("'s | ").append(variants[0]).append("'s wall / wall |");
            rule.append("---:|---:|");
        }
        System.out.println(head);
        System.out.println(rule);
        double[] totalWork = new double[n];
        for (String key : byKey.getFirst().keySet()) {
            StringBuilder row = new StringBuilder("| ").append(key).append(" |");
            double[] work = new double[n], wall = new double[n];
            for (int v = 0; v < n; v++) {
                long[][] k = byKey.get(v).get(key);
                if (k == null) {
                    row.append(" – | – |");
                    continue;
                }
                double caller = median(k, 0), helper = median(k, 1);
                work[v] = medianSum(k);
                wall[v] = median(k, 2);
                totalWork[v] += work[v];
                row.append(String.format(Locale.ROOT, " %.0f + %.0f = **%.0f** | %.0f |", caller / 1e3, helper / 1e3, work[v] / 1e3, wall[v] / 1e3));
            }
            appendRatios(row, work, wall);
            System.out.println(row);
        }
        StringBuilder out = new StringBuilder("| outside backend calls (caller's CPU) |"), all = new StringBuilder("| **whole forward** |");
        double[] o = new double[n], fw = new double[n], w = new double[n];
        for (int v = 0; v < n; v++) {
            o[v] = medianOf(outside[v]);
            fw[v] = medianOf(forwardWall[v]);
            w[v] = totalWork[v] + o[v];
            out.append(String.format(Locale.ROOT, " %.0f | – |", o[v] / 1e3));
            all.append(String.format(Locale.ROOT, " **%.0f** (sum of the medians) | %.0f |", w[v] / 1e3, fw[v] / 1e3));
        }
        appendRatios(out, o, new double[n]);
        appendRatios(all, w, fw);
        System.out.println(out);
        System.out.println(all);
    }

    private static void appendRatios(StringBuilder row, double[] work, double[] wall) {
        if (work.length < 2) {
            return;
        }
        StringBuilder r1 = new StringBuilder(), r2 = new StringBuilder();
        for (int v = 1; v < work.length; v++) {
            r1.append(v > 1 ? " / " : "").append(work[0] > 0 ? String.format(Locale.ROOT, "%.3f", work[v] / work[0]) : "–");
            r2.append(v > 1 ? " / " : "").append(wall[v] > 0 ? String.format(Locale.ROOT, "%.2f", wall[0] / wall[v]) : "–");
        }
        row.append(' ').append(r1).append(" | ").append(r2).append(" |");
    }

    private static double median(long[][] perRound, int column) {
        long[] c = new long[perRound.length];
        for (int r = 0; r < c.length; r++) {
            c[r] = perRound[r][column];
        }
        return medianOf(c);
    }

    private static double medianSum(long[][] perRound) {
        long[] c = new long[perRound.length];
        for (int r = 0; r < c.length; r++) {
            c[r] = perRound[r][0] + perRound[r][1];
        }
        return medianOf(c);
    }

    private static double medianOf(long[] values) {
        long[] c = values.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }
}
