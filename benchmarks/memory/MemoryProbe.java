import dev.jformers.models.AutoModel;
import dev.jformers.models.ModelInput;
import dev.jformers.models.PreTrainedModel;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Resident memory of a loaded model, for benchmarks/memory.sh: RSS before loading, after loading, after one
 * forward pass (b1×s128), and the highest RSS over {@code loads} loads, each closed (when the model is closeable)
 * before the next. Written against APIs every version has, so the same file measures an older build too.
 *
 * <p>Usage: java -cp JARS MemoryProbe.java MODEL_DIR LOADS [gc]   (gc: System.gc() after each close)
 */
public class MemoryProbe {
    static long rssMb() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
            }
        }
        return -1;
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int loads = Integer.parseInt(args[1]);
        boolean collect = args.length > 2 && args[2].equals("gc");
        long before = rssMb();
        PreTrainedModel model = AutoModel.fromPretrained(dir);
        long loaded = rssMb();
        System.gc();
        long heap = (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) >> 20;
        long loadedGc = rssMb();
        long[][] ids = new long[1][128];
        for (int i = 0; i < 128; i++) {
            ids[0][i] = 1000 + i;
        }
        model.forward(ModelInput.of(ids));
        long forward = rssMb();
        long peak = forward;
        Object m = model;
        for (int i = 1; i < loads; i++) {
            if (m instanceof AutoCloseable c) {
                c.close();
            }
            m = null;
            model = null;
            if (collect) {
                System.gc();      // what a long-running application's collector does sooner or later
            }
            model = AutoModel.fromPretrained(dir);
            model.forward(ModelInput.of(ids));
            m = model;
            peak = Math.max(peak, rssMb());
        }
        System.out.printf("%s: before %d MB, loaded %d MB (after a GC %d MB; heap in use %d MB), after a forward %d MB, "
                        + "highest over %d loads%s %d MB, last %d MB%n", dir.getFileName(), before, loaded, loadedGc, heap, forward,
                loads, collect ? " (GC after each close)" : "", peak, rssMb());
    }
}
