package dev.jformers.cpu;

import dev.jformers.benchmarks.Machine;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;

import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

/**
 * The GEMMs of a 384-wide encoder (per layer 384→1152, 384→384, 384→1536, 1536→384: all-MiniLM-L6-v2's and
 * e5-small-v2's shapes) on M rows, as a forward runs them — every layer with its own weights, so they stream from
 * memory — on a 1-thread backend and on 2-thread backends with different splits (the backend's package-private
 * knobs), the variants alternated. Each GEMM call is timed on the wall clock and the minimum per call over all rounds
 * kept: on a loaded machine those minima are each call's quietest moment, a lower bound, fit for comparing variants
 * measured the same way, not for publishing as quiet figures.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -XX:+UseTransparentHugePages -cp benchmarks.jar
 * dev.jformers.cpu.GemmThreads [rows,rows,...] [layers] [rounds] [variant,variant,...]} (variants as in
 * {@link EncoderThreads#configure}, and {@code +yoffN}, {@code +xwritten}, {@code +ywritten}, {@code +yshared} below);
 * {@code -Djformers.bench.pin=true} pins the caller to CPU 0 and the helpers to CPU 1 after the warm-up.
 */
public final class GemmThreads {
    private GemmThreads() {
    }

    public static void main(String[] args) {
        System.out.println(Machine.describe());
        int[] ms = Arrays.stream((args.length > 0 ? args[0] : "128,16").split(",")).mapToInt(Integer::parseInt).toArray();
        int layers = args.length > 1 ? Integer.parseInt(args[1]) : 12;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 30;
        String[] variants = (args.length > 3 ? args[3] : "1t,2t").split(",");
        int[][] shapes = {{384, 1152}, {384, 384}, {384, 1536}, {1536, 384}};   // K, N
        Random rnd = new Random(1);
        SimdBackend[] backends = new SimdBackend[variants.length];
        int[] yOff = new int[variants.length];   // "+yoffN": the output starts N floats into its array (cache-line alignment)
        // "+xwritten": before each call (untimed), the input is written anew by a small GEMM on the same backend, split by
        // panels as a model's previous operation is: each core then holds the columns it wrote of every row
        boolean[] xWritten = new boolean[variants.length];
        // "+ywritten": before each call (untimed), the output array is written by a GEMM that splits it into 64-column
        // blocks claimed by the threads in turn, so about half its lines were last written by the other core (as an
        // output array recycled from an earlier operation's)
        boolean[] yWritten = new boolean[variants.length];
        // "+yshared": before each call (untimed), both threads read the whole output array (as the next operation reads
        // its input: every line then has a copy in each core), so that each line the GEMM writes must first be taken
        // from the other core's cache
        boolean[] yShared = new boolean[variants.length];
        for (int v = 0; v < variants.length; v++) {
            StringBuilder rest = new StringBuilder();
            for (String part : variants[v].split("\\+")) {
                if (part.startsWith("yoff")) {
                    yOff[v] = Integer.parseInt(part.substring(4));
                } else if (part.equals("xwritten")) {
                    xWritten[v] = true;
                } else if (part.equals("ywritten")) {
                    yWritten[v] = true;
                } else if (part.equals("yshared")) {
                    yShared[v] = true;
                } else {
                    rest.append(rest.isEmpty() ? "" : "+").append(part);
                }
            }
            backends[v] = EncoderThreads.backend(rest.toString());
        }
        PackedLinear[][] w = new PackedLinear[layers][shapes.length];
        for (PackedLinear[] layer : w) {
            for (int g = 0; g < shapes.length; g++) {
                layer[g] = (PackedLinear) backends[0].prepareLinear(random(rnd, shapes[g][1] * shapes[g][0]).reshape(shapes[g][1], shapes[g][0]),
                        random(rnd, shapes[g][1]), WeightLayout.OUT_IN);
            }
        }
        PackedLinear[] producers = new PackedLinear[shapes.length];
        float[] seed = null;
        for (int g = 0; g < shapes.length; g++) {
            producers[g] = (PackedLinear) backends[0].prepareLinear(random(rnd, shapes[g][0] * 16).reshape(shapes[g][0], 16),
                    random(rnd, shapes[g][0]), WeightLayout.OUT_IN);
        }
        PackedLinear yProducer = (PackedLinear) backends[0].prepareLinear(random(rnd, 64 * 16).reshape(64, 16), random(rnd, 64),
                WeightLayout.OUT_IN);
        for (int m : ms) {
            seed = random(rnd, m * 16).floatArray();
            int maxN = Arrays.stream(shapes).mapToInt(sh -> sh[1]).max().orElseThrow();
            float[] ySeed = random(rnd, m * maxN / 64 * 16).floatArray();
            float[][] x = new float[shapes.length][], y = new float[shapes.length][];
            long flopsPerLayer = 0;
            for (int g = 0; g < shapes.length; g++) {
                x[g] = random(rnd, m * shapes[g][0]).floatArray();
                y[g] = new float[m * shapes[g][1] + 16];
                flopsPerLayer += 2L * m * shapes[g][0] * shapes[g][1];
            }
            long[][][] best = new long[variants.length][layers][shapes.length];
            for (long[][] b : best) {
                for (long[] l : b) {
                    Arrays.fill(l, Long.MAX_VALUE);
                }
            }
            long[] sumAll = new long[variants.length];   // every timed call, for the mean
            long[] bestAll = new long[variants.length];
            Arrays.fill(bestAll, Long.MAX_VALUE);
            for (int round = -5; round < rounds; round++) {   // negative rounds warm up
                if (round == 0 && ThreadPins.wanted()) {   // -Djformers.bench.pin=true: caller on CPU 0, every helper on CPU 1
                    try {
                        ThreadPins.pinCallerAndHelpers();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
                for (int v = 0; v < variants.length; v++) {
                    long all0 = System.nanoTime();
                    for (int l = 0; l < layers; l++) {
                        for (int g = 0; g < shapes.length; g++) {
                            if (xWritten[v]) {
                                backends[v].gemm(seed, 0, m, producers[g], x[g], 0);
                            }
                            if (yWritten[v]) {
                                backends[v].gemm(ySeed, 0, m * shapes[g][1] / 64, yProducer, y[g], 0);
                            }
                            if (yShared[v]) {
                                float[] out = y[g];
                                backends[v].pool.parallelFor(backends[v].pool.threads(), t -> sink += sum(out));
                            }
                            long t0 = System.nanoTime();
                            backends[v].gemm(x[g], 0, m, w[l][g], y[g], yOff[v]);
                            long dt = System.nanoTime() - t0;
                            if (round >= 0) {
                                best[v][l][g] = Math.min(best[v][l][g], dt);
                                sumAll[v] += dt;
                            }
                        }
                    }
                    if (round >= 0) {
                        bestAll[v] = Math.min(bestAll[v], System.nanoTime() - all0);
                    }
                }
            }
            System.out.printf(Locale.ROOT, "%nM = %d, %d layers (weights streamed), %d rounds: per-call minima, µs per layer (GFLOP/s)%n%n", m, layers, rounds);
            EncoderThreads.printTableHead("GEMM M×K×N", variants, null);
            double[] total = new double[variants.length];
            for (int g = 0; g < shapes.length; g++) {
                StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %d×%d×%d |", m, shapes[g][0], shapes[g][1]));
                long flops = 2L * m * shapes[g][0] * shapes[g][1];
                for (int v = 0; v < variants.length; v++) {
                    long sum = 0;
                    for (int l = 0; l < layers; l++) {
                        sum += best[v][l][g];
                    }
                    total[v] += sum;
                    row.append(String.format(Locale.ROOT, " %.1f (%.0f) |", sum / 1e3 / layers, flops * layers / (double) sum));
                }
                System.out.println(row);
            }
            StringBuilder row = new StringBuilder("| **a layer's four** |");
            StringBuilder all = new StringBuilder("| fastest round, whole (µs per layer) |");
            for (int v = 0; v < variants.length; v++) {
                row.append(String.format(Locale.ROOT, " %.1f (%.0f) |", total[v] / 1e3 / layers, flopsPerLayer * layers / total[v]));
                all.append(String.format(Locale.ROOT, " %.1f (%.0f) |", bestAll[v] / 1e3 / layers, flopsPerLayer * layers / (double) bestAll[v]));
            }
            StringBuilder mean = new StringBuilder("| mean of all calls (µs per layer) |");
            for (int v = 0; v < variants.length; v++) {
                double perLayer = sumAll[v] / 1e3 / layers / rounds;
                mean.append(String.format(Locale.ROOT, " %.1f (%.0f) |", perLayer, flopsPerLayer / perLayer / 1e3));
            }
            System.out.println(row);
            System.out.println(all);
            System.out.println(mean);
        }
        for (SimdBackend b : backends) {
            b.close();
        }
    }

    /** Keeps {@link #sum}'s reads alive. */
    private static volatile float sink;

    private static float sum(float[] a) {
        float s = 0;
        for (int i = 0; i < a.length; i += 16) {   // one float a line is enough to bring every line in
            s += a[i];
        }
        return s;
    }

    private static Tensor random(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = rnd.nextFloat() - 0.5f;
        }
        return Tensor.of(v, n);
    }
}
