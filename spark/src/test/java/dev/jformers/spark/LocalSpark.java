package dev.jformers.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.fail;

/** One local[2] SparkSession for all the tests of this JVM, and helpers to make and read DataFrames. */
final class LocalSpark {
    private static SparkSession spark;

    private LocalSpark() {
    }

    static synchronized SparkSession session() {
        if (spark == null) {
            spark = SparkSession.builder()
                    .master("local[2]")
                    .appName("jformers-spark-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.sql.shuffle.partitions", "2")
                    .config("spark.sql.warehouse.dir", Path.of("target", "spark-warehouse").toAbsolutePath().toString())
                    .getOrCreate();
            Runtime.getRuntime().addShutdownHook(new Thread(spark::stop));
        }
        return spark;
    }

    /** A DataFrame (id: int, text: string) over {@code partitions} partitions, ids 0.. in list order. */
    static Dataset<Row> texts(List<String> texts, int partitions) {
        StructType schema = new StructType().add("id", DataTypes.IntegerType, false).add("text", DataTypes.StringType, true);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            rows.add(RowFactory.create(i, texts.get(i)));
        }
        return session().createDataFrame(rows, schema).repartition(partitions);
    }

    /** The rows of {@code df} sorted by id, which must run 0, 1, 2, ... */
    static List<Row> byId(Dataset<Row> df) {
        List<Row> rows = new ArrayList<>(df.collectAsList());
        rows.sort((a, b) -> Integer.compare(a.getInt(a.fieldIndex("id")), b.getInt(b.fieldIndex("id"))));
        return rows;
    }

    /** A tiny model of testdata/golden/pipelines. */
    static String golden(String folder) {
        String p = System.getProperty("jformers.testdata");
        Path testdata = p != null ? Path.of(p) : Path.of("..", "testdata");
        Path d = testdata.resolve("golden").resolve("pipelines").resolve(folder);
        if (!Files.isDirectory(d)) {
            fail("test model not found at " + d.toAbsolutePath());
        }
        return d.toString();
    }
}
