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
 * with one jformers thread per task. Each figure is the best of {@code rounds} runs after a warm-up.
 * Run by spark/benchmark.sh.
 */
public final class SparkBenchmark {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        String model = MavenModels.fetch("sentence-transformers/all-MiniLM-L6-v2").toString();
        List<String> texts = MiniLmSparkTest.sentences(n, 10_000);
        int batch = 32;
        System.out.printf(Locale.ROOT, "%d sentences of 1-16 words, all-MiniLM-L6-v2, mean pooling, normalised, batch %d%n",
                n, batch);

        try (FeatureExtractionPipeline p = (FeatureExtractionPipeline) Pipelines.pipeline("feature-extraction", model,
                Backends.create("", 1))) {
            report("in-process pipeline, one text at a time, 1 thread", n, rounds, () -> {
                for (String t : texts) {
                    p.sentenceEmbedding(t, Pooling.MEAN, true);
                }
            });
        }
        TextFunction f = new SentenceEmbedder().setModel(model).setThreads(1).textFunction();
        report("in-process, batched by length (the stages' code), 1 thread", n, rounds, () -> f.apply(texts, batch));
        report("in-process, batched by length, 2 threads (a half each)", n, rounds, () -> {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            List<Future<?>> halves = List.of(pool.submit(() -> f.apply(texts.subList(0, n / 2), batch)),
                    pool.submit(() -> f.apply(texts.subList(n / 2, n), batch)));
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
            Dataset<Row> df = spark.createDataFrame(rows, schema).repartition(cores * 2).cache();
            df.count();
            SentenceEmbedder stage = new SentenceEmbedder().setModel(model).setBatchSize(batch);
            report("Spark local[" + cores + "], " + cores * 2 + " partitions, 1 jformers thread per task", n, rounds,
                    () -> stage.transform(df).write().format("noop").mode("overwrite").save());
            spark.stop();
        }
    }

    interface Body {
        void run() throws Exception;
    }

    private static void report(String what, int n, int rounds, Body body) throws Exception {
        body.run(); // warm-up: JIT, the model loaded
        double best = Double.MAX_VALUE;
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            body.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        System.out.printf(Locale.ROOT, "%-70s %8.0f rows/s  (%.2f s)%n", what, n / best, best);
    }
}
