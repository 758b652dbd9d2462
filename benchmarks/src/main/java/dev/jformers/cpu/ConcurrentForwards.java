package dev.jformers.cpu;

import dev.jformers.benchmarks.Machine;
import dev.jformers.benchmarks.models.ModelShapes;
import dev.jformers.models.AutoModel;
import dev.jformers.models.ModelInput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.hub.MavenModels;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;

/**
 * What one core's work costs while the other core works too, with nothing shared: two 1-thread backends, each with its
 * own copy of the model, forwards on two threads at once ("duo") against one thread alone ("solo"), phases alternated.
 * Per forward: the thread's CPU time, and its CPU time over its wall time (near 1 when it had a core to itself). If a
 * duo forward costs more CPU than a solo one, running both cores at once costs that much (clock, memory, shared L3),
 * whatever the split between them; a 2-thread forward's extra work beyond that comes from its split.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -XX:+UseTransparentHugePages -cp benchmarks.jar
 * dev.jformers.cpu.ConcurrentForwards [minilm|e5] [BxT] [forwards per phase] [phases]}
 */
public final class ConcurrentForwards {
    private ConcurrentForwards() {
    }

    public static void main(String[] args) throws Exception {
        System.out.println(Machine.describe());
        String id = (args.length > 0 ? args[0] : "e5").equals("minilm") ? "all-MiniLM-L6-v2" : "e5-small-v2";
        int[] bs = ModelShapes.batchSeq(args.length > 1 ? args[1] : "1x128");
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        int phases = args.length > 3 ? Integer.parseInt(args[3]) : 4;
        long[][] ids = ModelShapes.bertIds(bs[0], bs[1]);
        ModelInput in = ModelInput.of(ids).withAttentionMask(ModelShapes.ones(bs[0], bs[1])).withTokenTypeIds(ModelShapes.zeros(bs[0], bs[1]));
        PreTrainedModel a = AutoModel.fromPretrained(MavenModels.fetch(id), new SimdBackend(1, 0));
        PreTrainedModel b = AutoModel.fromPretrained(MavenModels.fetch(id), new SimdBackend(1, 0));
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (int w = 0; w < 10; w++) {
            a.forward(in).lastHiddenState();
            b.forward(in).lastHiddenState();
        }
        System.out.println(CoreToCore.probe());   // where the two vCPUs are (they move: see CoreToCore)
        for (int phase = 0; phase < phases; phase++) {
            boolean duo = phase % 2 == 1;
            long[][] cpu = new long[2][n], ratio = new long[2][n];
            CyclicBarrier start = new CyclicBarrier(duo ? 2 : 1);
            Thread[] threads = new Thread[duo ? 2 : 1];
            for (int t = 0; t < threads.length; t++) {
                int me = t;
                PreTrainedModel model = t == 0 ? a : b;
                threads[t] = new Thread(() -> {
                    try {
                        if (ThreadPins.wanted()) {   // -Djformers.bench.pin=true: thread t on CPU t (solo: CPU 0)
                            ThreadPins.pin(ThreadPins.currentTid(), me);
                        }
                        start.await();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    for (int i = 0; i < n; i++) {
                        long c0 = mx.getCurrentThreadCpuTime(), w0 = System.nanoTime();
                        model.forward(in).lastHiddenState();
                        long c = mx.getCurrentThreadCpuTime() - c0, wall = System.nanoTime() - w0;
                        cpu[me][i] = c;
                        ratio[me][i] = 1000 * c / Math.max(1, wall);
                    }
                });
                threads[t].start();
            }
            for (Thread t : threads) {
                t.join();
            }
            for (int t = 0; t < threads.length; t++) {
                long[] c = cpu[t].clone(), r = ratio[t].clone();
                Arrays.sort(c);
                Arrays.sort(r);
                System.out.printf(Locale.ROOT, "%s thread %d: CPU per forward min %.2f, median %.2f ms; CPU/wall median %.2f, max %.2f%n",
                        duo ? "duo " : "solo", t, c[0] / 1e6, c[n / 2] / 1e6, r[n / 2] / 1000.0, r[n - 1] / 1000.0);
            }
        }
        System.out.println(CoreToCore.probe());
    }
}
