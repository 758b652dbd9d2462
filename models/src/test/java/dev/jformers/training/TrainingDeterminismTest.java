package dev.jformers.training;

import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.models.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The same seed gives bit-identical training runs on the SIMD backend (2 threads), whatever the JIT has done:
 * the first run in a JVM (the kernels still in the interpreter or C1, where the Vector API runs its Java
 * fallback), a run after the kernels were compiled with their intrinsics, and a run in a JVM that never
 * compiles with C2 at all. Each run: a few AdamW steps with clipping and dropout, then an eval forward on the
 * same backend; compared: every loss, every weight and the eval logits, bit for bit.
 */
class TrainingDeterminismTest {
    static final int STEPS = 4;

    /** A model folder and the golden case whose batches train it. */
    record Case(Path model, Path data) {
    }

    /** Loss bits, weight and logit hashes of STEPS steps of each case, one line per case. */
    static String runAll(Backend backend, List<Case> cases) throws IOException {
        StringBuilder out = new StringBuilder();
        for (int c = 0; c < cases.size(); c++) {
            List<GoldenTrainingTest.Batch> batches = GoldenTrainingTest.batches(cases.get(c).data());
            try (TrainableModel m = TrainableModel.load(cases.get(c).model(), backend)) {
                Optimizer adamw = new AdamW(m.parameterGroups(0.01), 0.9, 0.999, 1e-8);
                out.append("case ").append(c).append(" losses");
                for (int step = 0; step < STEPS; step++) {
                    GoldenTrainingTest.Batch b = batches.get(step % batches.size());
                    var loss = m.forward(b.input(), b.labels()).get("loss");
                    out.append(' ').append(Integer.toHexString(Float.floatToRawIntBits(loss.toFloatArray()[0])));
                    m.backward(loss);
                    GradientClipping.clipGradNorm(m.trainableParameters(), 1.0);
                    m.step(adamw, 1e-2);
                }
                int weights = 0;
                for (Parameter p : m.parameters()) {
                    weights = 31 * weights + Arrays.hashCode(p.value().toFloatArray());
                }
                float[] logits = m.eval().forward(batches.get(0).input()).logits().toFloatArray();
                out.append(" weights ").append(Integer.toHexString(weights))
                        .append(" eval ").append(Integer.toHexString(Arrays.hashCode(logits))).append('\n');
            }
        }
        return out.toString();
    }

    /** GPT-2 (gelu_new, causal attention, tied lm_head) and a BERT classifier with dropout 0.1 everywhere. */
    static List<Case> cases(Path tmp) throws IOException {
        Path gpt2 = GoldenTrainingTest.root().resolve("gpt2/lm_head");
        return List.of(new Case(gpt2, gpt2),
                new Case(TrainingBehaviourTest.withDropout(tmp, 0.1), TrainingBehaviourTest.CLASSIFIER));
    }

    @Test
    void coldWarmAndC1OnlyRunsGiveTheSameBits(@TempDir Path tmp) throws Exception {
        List<Case> cases = cases(tmp);
        String cold, warm;
        try (Backend backend = Backends.create("cpu", 2)) {
            cold = runAll(backend, cases);
            for (int i = 0; i < 40; i++) {   // enough calls for C2 to compile the kernels with the vector intrinsics
                runAll(backend, cases);
            }
            warm = runAll(backend, cases);
        }
        assertEquals(cold, warm, "the same steps before and after the JIT compiled the kernels");
        assertEquals(warm, runInAnotherJvm(tmp, "-XX:TieredStopAtLevel=1"), "a JVM without C2 (no vector intrinsics)");
    }

    /** runAll in a fresh JVM with {@code jvmFlag}, on this JVM's class path and module flags. */
    private static String runInAnotherJvm(Path tmp, String jvmFlag) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                jvmFlag, "--add-modules", "jdk.incubator.vector", "-Djformers.testdata=" + Golden.testdata().toAbsolutePath(),
                "-cp", System.getProperty("java.class.path"), TrainingDeterminismTest.class.getName(), tmp.toString()));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the other JVM did not finish");
        assertEquals(0, p.exitValue(), "the other JVM failed: " + out);
        return out;
    }

    public static void main(String[] args) throws IOException {
        try (Backend backend = Backends.create("cpu", 2)) {
            System.out.print(runAll(backend, cases(Path.of(args[0]).resolve("other-jvm"))));
        }
    }
}
