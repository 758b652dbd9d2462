package dev.jformers.benchmarks.models;

import dev.jformers.core.Backends;
import dev.jformers.core.Tensor;
import dev.jformers.models.Labels;
import dev.jformers.models.ModelInput;
import dev.jformers.training.AdamW;
import dev.jformers.training.TrainableModel;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
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
 */
public final class WhereTrainingTimeGoes {
    private WhereTrainingTimeGoes() {
    }

    private static long gcCount() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream().mapToLong(GarbageCollectorMXBean::getCollectionCount).sum();
    }

    public static void main(String[] args) {
        String scenario = args.length > 0 ? args[0] : "minilm-32x128";
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        ModelShapes.Encoder e = TrainingStepComparison.encoder(scenario);
        int[] bs = ModelShapes.batchSeq(scenario.substring(scenario.indexOf('-') + 1));
        Path dir = RandomBert.folder(e, 12);
        long[][] ids = ModelShapes.bertIds(bs[0], bs[1]);
        long[] labelIds = new long[bs[0]];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < labelIds.length; i++) {
            labelIds[i] = r.nextInt(RandomBert.LABELS);
        }
        ModelInput input = ModelInput.of(ids).withAttentionMask(ModelShapes.ones(bs[0], bs[1]));
        Labels labels = Labels.of(Tensor.ofLongs(labelIds, labelIds.length));
        TimingBackend backend = new TimingBackend(Backends.create("cpu", threads));
        TrainableModel model = TrainableModel.load(dir, backend);
        AdamW adamW = new AdamW(model.parameterGroups(TorchBertTraining.WEIGHT_DECAY), TorchBertTraining.BETA1,
                TorchBertTraining.BETA2, TorchBertTraining.EPS);
        var bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        backend.enable(false);
        for (int i = 0; i < 2; i++) {   // warm-up: JIT
            Tensor loss = model.forward(input, labels).get("loss");
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
        for (int i = 0; i < steps; i++) {
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
        }
        long allocated = bean.getTotalThreadAllocatedBytes() - allocated0, gcs = gcCount() - gcCount0, gcMs = WhereTimeGoes.gcMillis() - gcMillis0;
        backend.close();
        long total = phase[0] + phase[1] + phase[2];
        System.out.printf(Locale.ROOT, "%n%s, %d thread(s), %d steps: CPU %.0f ms per step (best %.0f), wall %.0f ms;"
                        + " forward %.0f, backward %.0f, step %.0f ms CPU%n%n", scenario, threads, steps, total / 1e6 / steps,
                best / 1e6, (phaseWall[0] + phaseWall[1] + phaseWall[2]) / 1e6 / steps,
                phase[0] / 1e6 / steps, phase[1] / 1e6 / steps, phase[2] / 1e6 / steps);
        System.out.printf(Locale.ROOT, "memory: %.1f MB allocated per step (all threads), %.1f collections and %.0f ms of GC per"
                        + " step, peak heap %.2f GB, peak RSS %.2f GB%n%n", allocated / 1e6 / steps,
                (double) gcs / steps, (double) gcMs / steps, TrainingStepComparison.peakHeapBytes() / 1e9,
                TrainingStepComparison.peakRssBytes() / 1e9);
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
    }
}
