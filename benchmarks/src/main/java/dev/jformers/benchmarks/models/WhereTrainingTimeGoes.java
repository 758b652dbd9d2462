package dev.jformers.benchmarks.models;

import dev.jformers.benchmarks.Machine;
import dev.jformers.core.Backends;
import dev.jformers.core.Tensor;
import dev.jformers.models.Labels;
import dev.jformers.models.ModelInput;
import dev.jformers.training.AdamW;
import dev.jformers.training.TrainableModel;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Per-operation profile of one training step (forward, backward, AdamW) of {@code TrainingStepComparison}'s
 * model — BertForSequenceClassification on random weights of all-MiniLM-L6-v2's or BERT-base's shapes —
 * through {@link TimingBackend} under the autograd. Prints each phase's and each backend operation's CPU time
 * of the calling thread per step: on 1 thread that is the whole cost, and it holds on a loaded machine
 * (wall time does not). With 2 threads the helper's share is not in the CPU column: read the wall column then.
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -cp benchmarks.jar
 * dev.jformers.benchmarks.models.WhereTrainingTimeGoes [minilm-32x128|bert-8x128] [threads] [steps]}
 *
 * <p>As the Trainer's batches: {@code -Djformers.bench.lengths=128,77,101,...} gives the steps (warm-up included)
 * these sequence lengths in turn — a batch padded to its longest row has a new shape at every step — and
 * {@code -Djformers.bench.dropout=0.1} sets the config's hidden and attention dropout (default 0). JIT warm-up:
 * {@code -Djformers.bench.warmup=N} steps before the timed ones (default 2), and {@code -Djformers.bench.perStep=true}
 * prints each timed step's CPU time by operation (the ops that take at least 1% of some step; then, with their MB
 * allocated, those that allocate 1 MB or more in some step), to see which operations the first steps of a process pay for.
 * A warning line follows the memory line where the steps allocated more than {@code -Djformers.bench.allocationWarningMB}
 * (default 200) MB each: a kernel compiled with its vectors boxed ({@link TrainingStepComparison}).
 */
public final class WhereTrainingTimeGoes {
    private WhereTrainingTimeGoes() {
    }

    private static long gcCount() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream().mapToLong(GarbageCollectorMXBean::getCollectionCount).sum();
    }

    /**
     * {@code dir}'s model with the config's hidden and attention dropout set to p, in a folder of its own next to it
     * (the weights hard-linked, or copied where a link cannot be made: the loader refuses a symbolic link that leads
     * out of the model's folder), or dir itself for p = 0.
     */
    private static Path withDropout(Path dir, float p) {
        if (p <= 0) {
            return dir;
        }
        try {
            Path copy = dir.resolveSibling(dir.getFileName() + "-dropout-" + p);
            Files.createDirectories(copy);
            Path weights = copy.resolve("model.safetensors");
            if (!Files.exists(weights)) {
                try {
                    Files.createLink(weights, dir.resolve("model.safetensors"));
                } catch (IOException | UnsupportedOperationException e) {
                    Files.copy(dir.resolve("model.safetensors"), weights);
                }
            }
            String config = Files.readString(dir.resolve("config.json"))
                    .replace("\"attention_probs_dropout_prob\": 0.0", "\"attention_probs_dropout_prob\": " + p)
                    .replace("\"hidden_dropout_prob\": 0.0", "\"hidden_dropout_prob\": " + p);
            Files.writeString(copy.resolve("config.json"), config);
            return copy;
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    public static void main(String[] args) {
        System.out.println(Machine.describe());
        String scenario = args.length > 0 ? args[0] : "minilm-32x128";
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        ModelShapes.Encoder e = TrainingStepComparison.encoder(scenario);
        int[] bs = ModelShapes.batchSeq(scenario.substring(scenario.indexOf('-') + 1));
        Path dir = withDropout(RandomBert.folder(e, 12), Float.parseFloat(System.getProperty("jformers.bench.dropout", "0")));
        String lengthList = System.getProperty("jformers.bench.lengths", String.valueOf(bs[1]));
        List<ModelInput> inputs = new ArrayList<>();
        for (String t : lengthList.split(",")) {
            int seq = Integer.parseInt(t.trim());
            inputs.add(ModelInput.of(ModelShapes.bertIds(bs[0], seq)).withAttentionMask(ModelShapes.ones(bs[0], seq)));
        }
        long[] labelIds = new long[bs[0]];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < labelIds.length; i++) {
            labelIds[i] = r.nextInt(RandomBert.LABELS);
        }
        Labels labels = Labels.of(Tensor.ofLongs(labelIds, labelIds.length));
        TimingBackend backend = new TimingBackend(Backends.create("cpu", threads));
        TrainableModel model = TrainableModel.load(dir, backend);
        AdamW adamW = new AdamW(model.parameterGroups(TorchBertTraining.WEIGHT_DECAY), TorchBertTraining.BETA1,
                TorchBertTraining.BETA2, TorchBertTraining.EPS);
        var bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        backend.enable(false);
        int batch = 0;
        for (int i = 0, warmup = Integer.getInteger("jformers.bench.warmup", 2); i < warmup; i++) {   // warm-up: JIT
            Tensor loss = model.forward(inputs.get(batch++ % inputs.size()), labels).get("loss");
            model.backward(loss);
            model.step(adamW, TrainingStepComparison.LR);
        }
        backend.reset();
        backend.enable(true);
        System.gc();                            // the warm-up's garbage is not the step's
        TrainingStepComparison.resetPeaks();   // heap pools' peaks and the process's peak RSS
        long allocated0 = bean.getTotalThreadAllocatedBytes(), gcCount0 = gcCount(), gcMillis0 = WhereTimeGoes.gcMillis();
        long[] phase = new long[3], phaseWall = new long[3];
        long best = Long.MAX_VALUE;
        boolean perStep = Boolean.getBoolean("jformers.bench.perStep");
        List<Map<String, TimingBackend.Cost>> snapshots = new ArrayList<>();
        long[] stepCpu = new long[steps];
        for (int i = 0; i < steps; i++) {
            ModelInput input = inputs.get(batch++ % inputs.size());
            long c0 = bean.getCurrentThreadCpuTime(), w0 = System.nanoTime();
            Tensor loss = model.forward(input, labels).get("loss");
            long c1 = bean.getCurrentThreadCpuTime(), w1 = System.nanoTime();
            model.backward(loss);
            long c2 = bean.getCurrentThreadCpuTime(), w2 = System.nanoTime();
            model.step(adamW, TrainingStepComparison.LR);
            long c3 = bean.getCurrentThreadCpuTime(), w3 = System.nanoTime();
            phase[0] += c1 - c0;
            phase[1] += c2 - c1;
            phase[2] += c3 - c2;
            phaseWall[0] += w1 - w0;
            phaseWall[1] += w2 - w1;
            phaseWall[2] += w3 - w2;
            best = Math.min(best, c3 - c0);
            stepCpu[i] = c3 - c0;
            if (perStep) {
                snapshots.add(backend.costs());
            }
        }
        long allocated = bean.getTotalThreadAllocatedBytes() - allocated0, gcs = gcCount() - gcCount0, gcMs = WhereTimeGoes.gcMillis() - gcMillis0;
        backend.close();
        long total = phase[0] + phase[1] + phase[2];
        if (inputs.size() > 1) {
            System.out.println("sequence lengths in turn: " + lengthList);
        }
        System.out.printf(Locale.ROOT, "%n%s, %d thread(s), %d steps: CPU %.0f ms per step (best %.0f), wall %.0f ms;"
                        + " forward %.0f, backward %.0f, step %.0f ms CPU%n%n", scenario, threads, steps, total / 1e6 / steps,
                best / 1e6, (phaseWall[0] + phaseWall[1] + phaseWall[2]) / 1e6 / steps,
                phase[0] / 1e6 / steps, phase[1] / 1e6 / steps, phase[2] / 1e6 / steps);
        System.out.printf(Locale.ROOT, "memory: %.1f MB allocated per step (all threads), %.1f collections and %.0f ms of GC per"
                        + " step, peak heap %.2f GB, peak RSS %.2f GB%n%n", allocated / 1e6 / steps,
                (double) gcs / steps, (double) gcMs / steps, TrainingStepComparison.peakHeapBytes() / 1e9,
                TrainingStepComparison.peakRssBytes() / 1e9);
        String warning = TrainingStepComparison.allocationWarning("these steps", allocated / 1e6 / steps);
        if (warning != null) {
            System.out.println(warning + "\n");
        }
        System.out.println("| backend operation | calls per step | CPU ms per step | % of CPU | wall ms per step | MB allocated per step |");
        System.out.println("|---|---:|---:|---:|---:|---:|");
        List<Map.Entry<String, TimingBackend.Cost>> rows = new ArrayList<>(backend.costs().entrySet());
        rows.sort((a, b) -> Long.compare(b.getValue().cpuNanos(), a.getValue().cpuNanos()));
        long inside = 0;
        for (var c : rows) {
            inside += c.getValue().cpuNanos();
            double ms = c.getValue().cpuNanos() / 1e6 / steps;
            System.out.printf(Locale.ROOT, "| %s | %.0f | %.1f | %.1f%% | %.1f | %.1f |%n", c.getKey(),
                    (double) c.getValue().calls() / steps, ms, 100 * ms / (total / 1e6 / steps),
                    c.getValue().nanos() / 1e6 / steps, c.getValue().allocatedBytes() / 1e6 / steps);
        }
        double outside = (total - inside) / 1e6 / steps;
        System.out.printf(Locale.ROOT, "| (outside backend calls: autograd, model code, gradient checks) | – | %.1f | %.1f%% | | |%n",
                outside, 100 * outside / (total / 1e6 / steps));
        if (perStep) {
            printPerStep(snapshots, stepCpu);
        }
    }

    /** Each step's CPU ms by operation: the differences between the cumulative snapshots taken after each step. */
    private static void printPerStep(List<Map<String, TimingBackend.Cost>> snapshots, long[] stepCpu) {
        StringBuilder head = new StringBuilder("\n| CPU ms in step | ");
        StringBuilder rule = new StringBuilder("|---|");
        StringBuilder all = new StringBuilder("| whole step | ");
        for (int i = 0; i < stepCpu.length; i++) {
            head.append(i + 1).append(" | ");
            rule.append("---:|");
            all.append(String.format(Locale.ROOT, "%.0f | ", stepCpu[i] / 1e6));
        }
        System.out.println(head.toString().trim());
        System.out.println(rule);
        System.out.println(all.toString().trim());
        StringBuilder allocations = new StringBuilder();
        for (String key : snapshots.getLast().keySet()) {
            double[] ms = new double[snapshots.size()], mb = new double[snapshots.size()];
            boolean large = false, allocates = false;
            for (int i = 0; i < ms.length; i++) {
                TimingBackend.Cost now = snapshots.get(i).get(key), before = i == 0 ? null : snapshots.get(i - 1).get(key);
                ms[i] = ((now == null ? 0 : now.cpuNanos()) - (before == null ? 0 : before.cpuNanos())) / 1e6;
                mb[i] = ((now == null ? 0 : now.allocatedBytes()) - (before == null ? 0 : before.allocatedBytes())) / 1e6;
                large |= ms[i] >= stepCpu[i] / 1e6 / 100;
                allocates |= mb[i] >= 1;
            }
            if (large) {
                System.out.println(perStepRow(key, ms));
            }
            if (allocates) {
                allocations.append(perStepRow(key, ms)).append('\n').append(perStepRow("(MB allocated)", mb)).append('\n');
            }
        }
        if (!allocations.isEmpty()) {   // the ops that allocated at least 1 MB in some step: CPU ms, then MB
            System.out.println("\nOperations that allocated 1 MB or more in a step (CPU ms, then MB allocated):\n");
            System.out.println(head.toString().trim());
            System.out.println(rule);
            System.out.print(allocations);
        }
    }

    private static String perStepRow(String key, double[] values) {
        StringBuilder row = new StringBuilder("| ").append(key).append(" | ");
        for (double v : values) {
            row.append(String.format(Locale.ROOT, "%.1f | ", v));
        }
        return row.toString().trim();
    }
}
