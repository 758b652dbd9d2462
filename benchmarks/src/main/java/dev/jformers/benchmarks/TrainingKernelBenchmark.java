package dev.jformers.benchmarks;

import dev.jformers.core.Activation;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The backward kernels at the shapes of an all-MiniLM-L6-v2 training step at b32×s128 (N = 4096 rows,
 * C = 384, FFN 1536, 12 heads), on the readable reference (the scalar backend: TrainingKernels' double
 * loops) and the SIMD backend on 1 and 2 threads. Cross-entropy is the MLM head's: 256 rows × 30522
 * classes (a quarter of them ignored), loss and backward together.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", ForkFlags.HUGE_PAGES})
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 2, time = 1)
public class TrainingKernelBenchmark {
    static final int N = 4096, C = 384, FFN = 1536, HEADS = 12, BATCH = 32, SEQ = 128, VOCAB = 30522, CE_ROWS = 256;

    @Param({"scalar", "cpu-1", "cpu-2"})
    public String backend;

    @Param({"linear", "attention", "layerNorm", "gelu", "embedding", "crossEntropy", "accumulate"})
    public String op;

    private Backend be;
    private Tensor x, dy, w, dW, dB, gamma, q, k, v, probs, dContext, ids, table, logits, labels, acc;

    @Setup(Level.Trial)
    public void setup() {
        be = backend.equals("scalar") ? Backends.create("scalar") : Backends.create("cpu", Integer.parseInt(backend.substring(4)));
        SplittableRandom r = new SplittableRandom(1);
        switch (op) {
            case "linear" -> {   // BertIntermediate: [N, 384] → [N, 1536]
                x = random(r, N, C);
                dy = random(r, N, FFN);
                w = random(r, FFN, C);
                dW = random(r, FFN, C);
                dB = random(r, FFN);
            }
            case "attention" -> {
                Tensor fused = random(r, BATCH, SEQ, 3 * C);
                q = fused.narrow(2, 0, C);
                k = fused.narrow(2, C, C);
                v = fused.narrow(2, 2 * C, C);
                probs = be.attention(q, k, v, HEADS, AttentionMask.NONE, 0.125f, true).probs();
                dContext = random(r, BATCH, SEQ, C);
            }
            case "layerNorm" -> {
                x = random(r, N, C);
                dy = random(r, N, C);
                gamma = random(r, C);
                dW = random(r, C);
                dB = random(r, C);
            }
            case "gelu", "accumulate" -> {
                x = random(r, N, FFN);
                dy = random(r, N, FFN);
                acc = random(r, N, FFN);
            }
            case "embedding" -> {
                long[] tokens = new long[N];
                for (int i = 0; i < N; i++) {
                    tokens[i] = r.nextInt(VOCAB);
                }
                ids = Tensor.ofLongs(tokens, BATCH, SEQ);
                dy = random(r, BATCH, SEQ, C);
                table = random(r, VOCAB, C);
            }
            case "crossEntropy" -> {
                logits = random(r, CE_ROWS, VOCAB);
                long[] y = new long[CE_ROWS];
                for (int i = 0; i < CE_ROWS; i++) {
                    y[i] = i % 4 == 0 ? -100 : r.nextInt(VOCAB);
                }
                labels = Tensor.ofLongs(y, CE_ROWS);
            }
            default -> throw new IllegalArgumentException(op);
        }
    }

    private static Tensor random(SplittableRandom r, int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return Tensor.of(a, shape);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        be.close();
    }

    @Benchmark
    public Object backward() {
        return switch (op) {
            case "linear" -> be.linearBackward(dy, x, w, WeightLayout.OUT_IN, dW, dB, true);
            case "attention" -> be.attentionBackward(dContext, q, k, v, probs, HEADS, 0.125f);
            case "layerNorm" -> be.layerNormBackward(dy, x, gamma, 1e-12f, dW, dB);
            case "gelu" -> be.activationBackward(dy, x, Activation.GELU);
            case "embedding" -> {
                be.embeddingBackward(dy, ids, table, 0);
                yield table;
            }
            case "crossEntropy" -> new Tensor[] {be.crossEntropy(logits, labels, -100),
                    be.crossEntropyBackward(logits, labels, -100, 1f)};
            case "accumulate" -> {
                be.accumulate(acc, dy);
                yield acc;
            }
            default -> throw new IllegalArgumentException(op);
        };
    }
}
