package dev.jformers.spark;

import dev.jformers.models.hub.MavenModels;
import dev.jformers.pipelines.FeatureExtractionPipeline;
import dev.jformers.pipelines.FeatureExtractionPipeline.Pooling;
import dev.jformers.pipelines.Pipelines;
import dev.jformers.core.Backends;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Rows per second for all-MiniLM-L6-v2 sentence embeddings of N sentences (default 10,000): in-process (the pipeline
 * one text at a time; the stages' batched code without Spark on 1 and 2 threads) against Spark local[1] and local[2]
 * with one jformers thread per task. Each figure is the best of {@code rounds} runs, after a warm-up on the first
 * 1,000 sentences; wall time and the process's CPU time are both reported.
 * Run by spark/benchmark.sh.
 */
public final class SparkBenchmark {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        String model = MavenModels.fetch("sentence-transformers/all-MiniLM-L6-v2").toString();
        List<String> texts = MiniLmSparkTest.sentences(n, 10_000);
        int batch = 32;
        System.out.printf(Locale.ROOT, "%d sentences of 1-16 words, all-MiniLM-L6-v2, mean pooling, normalised, batch %d%n",
                n, batch);

        try (FeatureExtractionPipeline p = (FeatureExtractionPipeline) Pipelines.pipeline("feature-extraction", model,
                Backends.create("", 1))) {
            // The slowest way, on the first 2,000 sentences only (rows/s do not depend on how many).
            report("in-process pipeline, one text at a time, 1 thread (2,000 rows)", texts.subList(0, Math.min(2000, n)),
                    rounds, part -> {
                for (String t : part) {
                    p.sentenceEmbedding(t, Pooling.MEAN, true);
                }
            });
        }
        TextFunction f = new SentenceEmbedder().setModel(model).setThreads(1).textFunction();
        report("in-process, batched by length (the stages' code), 1 thread", texts, rounds, part -> f.apply(part, batch));
        report("in-process, batched by length, 2 threads (a half each)", texts, rounds, part -> {
            int half = part.size() / 2;
            ExecutorService pool = Executors.newFixedThreadPool(2);
            List<Future<?>> halves = List.of(pool.submit(() -> f.apply(part.subList(0, half), batch)),
                    pool.submit(() -> f.apply(part.subList(half, part.size()), batch)));
            for (Future<?> h : halves) {
                h.get();
            }
            pool.shutdown();
        });

        for (int cores : new int[] {1, 2}) {
            SparkSession spark = SparkSession.builder().master("local[" + cores + "]").appName("jformers-bench")
                    .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.sql.warehouse.dir", Path.of("target", "spark-warehouse").toAbsolutePath().toString())
                    .getOrCreate();
            StructType schema = new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);
            List<Row> rows = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                rows.add(RowFactory.create(i, texts.get(i)));
            }
            Dataset<Row> all = spark.createDataFrame(rows, schema).repartition(cores * 2).cache();
            Dataset<Row> warmUp = all.limit(1000).repartition(cores * 2).cache();
            all.count();
            warmUp.count();
            SentenceEmbedder stage = new SentenceEmbedder().setModel(model).setBatchSize(batch);
            report("Spark local[" + cores + "], " + cores * 2 + " partitions, 1 jformers thread per task", texts, rounds,
                    part -> stage.transform(part.size() == n ? all : warmUp).write().format("noop").mode("overwrite").save());
            spark.stop();
        }
    }

    interface Body {
        void run(List<String> texts) throws Exception;
    }

    /**
     * Prints rows per second of wall time and rows per CPU-second of this process (all its threads: Spark's own
     * included). On a machine that other work shares, wall time measures the share this process got; CPU time
     * measures the work it did, and so the overhead of one way over another.
     */
    private static void report(String what, List<String> texts, int rounds, Body body) throws Exception {
        body.run(texts.subList(0, Math.min(1000, texts.size()))); // warm-up: JIT, the model loaded
        double bestWall = Double.MAX_VALUE;
        double bestCpu = Double.MAX_VALUE;
        for (int r = 0; r < rounds; r++) {
            long c0 = cpuNanos();
            long t0 = System.nanoTime();
            body.run(texts);
            bestWall = Math.min(bestWall, (System.nanoTime() - t0) / 1e9);
            bestCpu = Math.min(bestCpu, (cpuNanos() - c0) / 1e9);
        }
        System.out.printf(Locale.ROOT, "%-75s %7.0f rows/s wall (%.1f s)  %7.0f rows/CPU-s (%.1f CPU-s)%n", what,
                texts.size() / bestWall, bestWall, texts.size() / bestCpu, bestCpu);
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }
}
