package dev.jformers.benchmarks.models;

import dev.jformers.benchmarks.ForkFlags;
import dev.jformers.models.hub.MavenModels;
import dev.jformers.pipelines.FeatureExtractionPipeline;
import dev.jformers.pipelines.Pipelines;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Sentence embeddings with all-MiniLM-L6-v2 through the pipeline, as an application calls it: {@code embedAll}
 * over {@link #SENTENCES} sentences of 6 to 30 words, {@code batchSize} per forward pass (1: one at a time).
 * Sentences/s = {@link #SENTENCES} / (seconds per call).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", ForkFlags.HUGE_PAGES})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class EmbeddingBatchThroughput {
    public static final int SENTENCES = 64;

    @Param({"1", "32"})
    public int batchSize;

    private FeatureExtractionPipeline pipeline;
    private List<String> sentences;

    @Setup
    public void setup() {
        pipeline = Pipelines.featureExtraction(MavenModels.fetch("sentence-transformers/all-MiniLM-L6-v2").toString());
        pipeline.setBatchSize(batchSize);
        String[] words = ("the quick brown fox jumps over a lazy dog while people in the city are eating food and talking "
                + "about the weather that changes every day in spring").split(" ");
        sentences = new ArrayList<>();
        for (int i = 0; i < SENTENCES; i++) {
            int n = 6 + (i * 7) % 25;             // 6..30 words, mixed lengths as real input has
            StringBuilder sb = new StringBuilder();
            for (int w = 0; w < n; w++) {
                sb.append(w == 0 ? "" : " ").append(words[(i + w * 3) % words.length]);
            }
            sentences.add(sb.append('.').toString());
        }
    }

    @TearDown
    public void close() {
        pipeline.close();
    }

    @Benchmark
    public float[][] embedAll() {
        return pipeline.embedAll(sentences);
    }
}
