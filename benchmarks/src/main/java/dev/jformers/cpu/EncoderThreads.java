package dev.jformers.cpu;

import dev.jformers.benchmarks.Machine;
import dev.jformers.benchmarks.models.ModelShapes;
import dev.jformers.benchmarks.models.TimingBackend;
import dev.jformers.models.AutoModel;
import dev.jformers.models.ModelInput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.hub.MavenModels;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a 2-thread encoder forward loses against the 1-thread one, on a loaded machine: the same model on a 1-thread
 * backend and on 2-thread backends (variants set through the backend's package-private knobs), forwards alternated,
 * every backend call timed on the wall clock ({@link TimingBackend}'s trace), and for each call of the forward (its
 * position in the call order) the minimum over all rounds kept. Minima over many rounds pick the moments when nothing
 * else ran, so their sums per operation approach a quiet machine's figures even while other processes share the
 * cores (not to be published as quiet numbers: they are lower bounds, each call's luckiest moment).
 *
 * <p>{@code java --add-modules jdk.incubator.vector -XX:+UseTransparentHugePages -cp benchmarks.jar
 * dev.jformers.cpu.EncoderThreads [minilm|e5] [BxT] [rounds] [variant,variant,...]}; variants: {@code 1t}, {@code 2t}
 * (defaults) and the experiments listed in {@link #configure}.
 */
public final class EncoderThreads {
    private EncoderThreads() {
    }

    public static void main(String[] args) {
        System.out.println(Machine.describe());
        EncoderArgs a = EncoderArgs.parse(args, "minilm");
        String id = a.id();
        int[] bs = a.batchSeq();
        int rounds = a.rounds();
        String[] variants = a.variants();
        ModelInput in = a.input();
        List<TimedModel> models = new ArrayList<>();
        for (String v : variants) {
            models.add(TimedModel.of(id, v));
        }
        int n = variants.length;
        long[][] best = new long[n][];
        String[][] keys = new String[n][];
        long[] bestForward = new long[n];
        java.util.Arrays.fill(bestForward, Long.MAX_VALUE);
        for (int round = -Math.max(5, rounds / 4); round < rounds; round++) {   // negative rounds warm up
            for (int v = 0; v < n; v++) {
                TimedModel.Forward f = models.get(v).forward(in, round >= 0);
                if (round < 0) {
                    continue;
                }
                List<Object[]> trace = f.trace();
                bestForward[v] = Math.min(bestForward[v], f.wall());
                if (best[v] == null) {
                    best[v] = new long[trace.size()];
                    keys[v] = new String[trace.size()];
                    java.util.Arrays.fill(best[v], Long.MAX_VALUE);
                    for (int i = 0; i < trace.size(); i++) {
                        keys[v][i] = (String) trace.get(i)[0];
                    }
                }
                for (int i = 0; i < trace.size(); i++) {
                    best[v][i] = Math.min(best[v][i], (Long) trace.get(i)[1]);
                }
            }
        }
        // per key: the sum of its calls' minima, per variant
        Map<String, double[]> byKey = new LinkedHashMap<>();
        double[] sums = new double[n];
        for (int v = 0; v < n; v++) {
            for (int i = 0; i < best[v].length; i++) {
                byKey.computeIfAbsent(keys[v][i], k -> new double[n])[v] += best[v][i] / 1e6;
                sums[v] += best[v][i] / 1e6;
            }
        }
        System.out.printf(Locale.ROOT, "%n%s b%d×s%d, %d rounds: per-call minima (wall clock, ms per forward), summed by operation%n%n",
                id, bs[0], bs[1], rounds);
        printTableHead("operation", variants, n > 1 ? variants[0] + " / each other" : null);
        for (var e : byKey.entrySet()) {
            System.out.println(row(e.getKey(), e.getValue()));
        }
        System.out.println(row("**sum of per-call minima**", sums));
        double[] fwd = new double[n];
        for (int v = 0; v < n; v++) {
            fwd[v] = bestForward[v] / 1e6;
        }
        System.out.println(row("**fastest whole forward** (timing on)", fwd));
    }

    private static String row(String name, double[] ms) {
        StringBuilder sb = new StringBuilder("| ").append(name).append(" |");
        for (double m : ms) {
            sb.append(String.format(Locale.ROOT, " %.3f |", m));
        }
        if (ms.length > 1) {
            sb.append(' ');
            for (int v = 1; v < ms.length; v++) {
                sb.append(String.format(Locale.ROOT, "%s%.2f", v > 1 ? " / " : "", ms[0] / ms[v]));
            }
            sb.append(" |");
        }
        return sb.toString();
    }

    /** The arguments the encoder tools share: {@code [minilm|e5|bert] [BxT] [rounds] [variant,variant,...]}. */
    record EncoderArgs(String id, int[] batchSeq, int rounds, String[] variants, ModelInput input) {
        static EncoderArgs parse(String[] args, String defaultModel) {
            String id = ModelShapes.encoder(args.length > 0 ? args[0] : defaultModel).name();   // minilm, e5 or bert
            int[] bs = ModelShapes.batchSeq(args.length > 1 ? args[1] : "1x128");
            int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 40;
            String[] variants = (args.length > 3 ? args[3] : "1t,2t").split(",");
            ModelInput in = ModelInput.of(ModelShapes.bertIds(bs[0], bs[1])).withAttentionMask(ModelShapes.ones(bs[0], bs[1]))
                    .withTokenTypeIds(ModelShapes.zeros(bs[0], bs[1]));
            return new EncoderArgs(id, bs, rounds, variants, in);
        }
    }

    /** A model on a backend of its own whose calls are timed and traced while {@link #forward} measures. */
    record TimedModel(TimingBackend timing, PreTrainedModel model) {
        /** Model {@code id} on {@link #backend}({@code variant}), its calls not timed until a forward measures. */
        static TimedModel of(String id, String variant) {
            TimingBackend tb = new TimingBackend(backend(variant));
            tb.enable(false);
            return new TimedModel(tb, AutoModel.fromPretrained(MavenModels.fetch(id), tb));
        }

        /** One forward; when {@code measure}, every backend call timed and traced (else an empty trace, timing off). */
        Forward forward(ModelInput in, boolean measure) {
            timing.enable(measure);
            timing.trace(measure);
            long c0 = CPU.getCurrentThreadCpuTime(), w0 = System.nanoTime();
            model.forward(in).lastHiddenState();
            long wall = System.nanoTime() - w0, cpu = CPU.getCurrentThreadCpuTime() - c0;
            List<Object[]> trace = timing.takeTrace();
            timing.trace(false);
            timing.enable(false);
            return new Forward(trace, wall, cpu);
        }

        /** A forward's calls ({@link TimingBackend#takeTrace}), its wall time and the calling thread's CPU time, ns. */
        record Forward(List<Object[]> trace, long wall, long cpu) {
        }

        private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();
    }

    /** A markdown table's header and rule: {@code first}, a right-aligned column per variant, then {@code extra} unless null. */
    static void printTableHead(String first, String[] variants, String extra) {
        StringBuilder head = new StringBuilder("| ").append(first).append(" |"), rule = new StringBuilder("|---|");
        for (String v : variants) {
            head.append(' ').append(v).append(" |");
            rule.append("---:|");
        }
        if (extra != null) {
            head.append(' ').append(extra).append(" |");
            rule.append("---|");
        }
        System.out.println(head);
        System.out.println(rule);
    }

    /** The backend a variant's name asks for: 1 thread for "1t…", else 2, with its experiments ({@link #configure}). */
    static SimdBackend backend(String variant) {
        SimdBackend simd = new SimdBackend(variant.startsWith("1t") ? 1 : 2, 0);
        configure(simd, variant);
        return simd;
    }

    /** The experiments a variant's name asks for ("2t+six0+chunks2"), through the backend's package-private knobs. */
    static void configure(SimdBackend simd, String variant) {
        for (String part : variant.split("\\+")) {
            switch (part) {
                case "1t", "2t" -> { }
                case "six0" -> simd.sixRowTileMaxRows = 0;                 // 4-row tiles only
                case "nofuse", "pertask" -> throw new IllegalArgumentException("variant part " + part
                        + ": removed with jformers.simd.fusedEncoder in the thirteenth session, the pre-#20f encoder path that measured"
                        + " 1-2% slower (docs/benchmarks.md, \"#20f\")");
                case "onerow0" -> simd.oneRowSweepMaxRows = 0;               // no one-row first sweep (before #20p)
                case "onerow" -> simd.streamedWeightBytes = -1;              // one-row first sweeps however few the weights
                default -> {
                    if (part.startsWith("chunks")) {   // a GEMM of few row blocks in N runs of panels per thread
                        simd.gemmChunksPerThread = Integer.parseInt(part.substring("chunks".length()));
                    } else {
                        throw new IllegalArgumentException("unknown variant part " + part + (part.matches("rows\\d*|normrows\\d*|owned|headsplit|panels")
                                ? ": removed with the row split and owned runs, which measured no gain (docs/benchmarks-models.md, twelfth session)" : ""));
                    }
                }
            }
        }
    }
}
