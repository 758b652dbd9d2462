package dev.jformers.spark;

import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * What the jformers stages share: the params (model, columns, batch size, maximum length, threads per task,
 * backend, strict) and the run over a DataFrame. Each partition is read in windows of rows; a window's texts are
 * batched by length ({@link TextFunction#apply}) and its rows come out in their original order, each with the
 * result appended as {@code outputCol}.
 *
 * <p>Params are public accessor methods, as Spark ML finds them by reflection; setters return the stage itself.
 *
 * @param <T> the concrete stage, so that setters chain
 */
public abstract class JformersTransformer<T extends JformersTransformer<T>> extends Transformer implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    /** How many batches of rows a window holds: texts are sorted by length within a window. */
    static final int WINDOW_BATCHES = 16;

    private final String uid;
    private final Param<String> model;
    private final Param<String> inputCol;
    private final Param<String> outputCol;
    private final IntParam batchSize;
    private final IntParam maxLength;
    private final IntParam threads;
    private final Param<String> backend;
    private final BooleanParam strict;
    /** The counter of the latest {@link #transform}: texts cut at the maximum length (also in Spark's UI). */
    private transient LongAccumulator truncated;

    JformersTransformer(String uid) {
        this.uid = uid;
        model = new Param<>(this, "model", "a model folder (on each node or shared storage) or a model id");
        inputCol = new Param<>(this, "inputCol", "the column of texts");
        outputCol = new Param<>(this, "outputCol", "the column the results go to");
        batchSize = new IntParam(this, "batchSize", "texts per forward pass (>= 1)", ParamValidators.gtEq(1));
        maxLength = new IntParam(this, "maxLength", "cut texts at this many tokens; 0: where the pipeline cuts them",
                ParamValidators.gtEq(0));
        threads = new IntParam(this, "threads", "jformers threads per Spark task (>= 1); tasks x threads should not"
                + " exceed an executor's cores", ParamValidators.gtEq(1));
        backend = new Param<>(this, "backend", "jformers backend (cpu, scalar, opencl[:N]); empty: the fastest available");
        strict = new BooleanParam(this, "strict", "fail on a null text instead of giving null");
        setDefault(inputCol, "text");
        setDefault(batchSize, 32);
        setDefault(maxLength, 0);
        setDefault(threads, 1);
        setDefault(backend, "");
        setDefault(strict, false);
    }

    @SuppressWarnings("unchecked")
    private T self() {
        return (T) this;
    }

    @Override
    public String uid() {
        return uid;
    }

    public Param<String> model() {
        return model;
    }

    public Param<String> inputCol() {
        return inputCol;
    }

    public Param<String> outputCol() {
        return outputCol;
    }

    public IntParam batchSize() {
        return batchSize;
    }

    public IntParam maxLength() {
        return maxLength;
    }

    public IntParam threads() {
        return threads;
    }

    public Param<String> backend() {
        return backend;
    }

    public BooleanParam strict() {
        return strict;
    }

    /** A model folder, on every node or on shared storage, or a model id resolved on each executor. */
    public T setModel(String idOrPath) {
        set(model, idOrPath);
        return self();
    }

    public T setInputCol(String col) {
        set(inputCol, col);
        return self();
    }

    public T setOutputCol(String col) {
        set(outputCol, col);
        return self();
    }

    public T setBatchSize(int n) {
        set(batchSize, n);
        return self();
    }

    public T setMaxLength(int tokens) {
        set(maxLength, tokens);
        return self();
    }

    /** jformers threads per Spark task (default 1: tasks already use the executor's cores). */
    public T setThreads(int n) {
        set(threads, n);
        return self();
    }

    public T setBackend(String spec) {
        set(backend, spec);
        return self();
    }

    /** true: a null text fails the task; false (default): it gives null. */
    public T setStrict(boolean v) {
        set(strict, v);
        return self();
    }

    public String getModel() {
        return getOrDefault(model);
    }

    public String getInputCol() {
        return getOrDefault(inputCol);
    }

    public String getOutputCol() {
        return getOrDefault(outputCol);
    }

    public int getBatchSize() {
        return (Integer) getOrDefault(batchSize);
    }

    public int getMaxLength() {
        return (Integer) getOrDefault(maxLength);
    }

    public int getThreads() {
        return (Integer) getOrDefault(threads);
    }

    public String getBackend() {
        return getOrDefault(backend);
    }

    public boolean getStrict() {
        return (Boolean) getOrDefault(strict);
    }

    /** The pipeline task this stage runs ("feature-extraction", ...). */
    abstract String task();

    /** The function with this stage's settings (no model in it). */
    abstract TextFunction textFunction();

    ExecutorModels.Key modelKey() {
        if (!isDefined(model)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": no model set (setModel(idOrPath))");
        }
        return new ExecutorModels.Key(task(), getModel(), getBackend(), getThreads());
    }

    @Override
    public StructType transformSchema(StructType schema) {
        String in = getInputCol();
        if (!Arrays.asList(schema.fieldNames()).contains(in)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": input column '" + in
                    + "' is not in the schema " + schema.simpleString());
        }
        if (!schema.apply(in).dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": input column '" + in
                    + "' must be a string column, it is " + schema.apply(in).dataType().simpleString());
        }
        if (!isDefined(outputCol)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": no output column set (setOutputCol)");
        }
        String out = getOutputCol();
        if (Arrays.asList(schema.fieldNames()).contains(out)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": output column '" + out + "' already exists");
        }
        return schema.add(new StructField(out, textFunction().outputType(), true, org.apache.spark.sql.types.Metadata.empty()));
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        truncated = dataset.sparkSession().sparkContext()
                .longAccumulator("jformers " + uid + ": texts cut at the maximum length");
        PartitionFunction f = new PartitionFunction(textFunction(), dataset.schema().fieldIndex(getInputCol()),
                getInputCol(), getBatchSize(), getStrict(), truncated);
        return dataset.toDF().mapPartitions(f, Encoders.row(out));
    }

    /**
     * How many texts the latest {@link #transform} cut at the maximum length, once an action has run it (a Spark
     * accumulator: a task that Spark runs again may count twice). 0 before any transform.
     */
    public long truncatedCount() {
        return truncated == null ? 0 : truncated.value();
    }

    @Override
    public T copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    /**
     * Runs one partition, window by window. Serializable, and it holds settings only: the model is taken from
     * {@link ExecutorModels} on the executor.
     */
    static final class PartitionFunction implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private static final Logger LOG = LoggerFactory.getLogger(JformersTransformer.class);

        private final TextFunction function;
        private final int inputIndex;
        private final String inputCol;
        private final int batchSize;
        private final boolean strict;
        private final LongAccumulator truncated;

        PartitionFunction(TextFunction function, int inputIndex, String inputCol, int batchSize, boolean strict,
                          LongAccumulator truncated) {
            this.function = function;
            this.inputIndex = inputIndex;
            this.inputCol = inputCol;
            this.batchSize = batchSize;
            this.strict = strict;
            this.truncated = truncated;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            return new Iterator<>() {
                private final List<Row> window = new ArrayList<>();
                private Object[] results;
                private int next;

                @Override
                public boolean hasNext() {
                    if (results != null && next < window.size()) {
                        return true;
                    }
                    fill();
                    return next < window.size();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    Row row = window.get(next);
                    Object[] values = new Object[row.length() + 1];
                    for (int i = 0; i < row.length(); i++) {
                        values[i] = row.get(i);
                    }
                    values[row.length()] = results[next++];
                    return RowFactory.create(values);
                }

                /** Reads the next window of rows and runs its texts. */
                private void fill() {
                    window.clear();
                    next = 0;
                    List<String> texts = new ArrayList<>();
                    while (window.size() < batchSize * WINDOW_BATCHES && rows.hasNext()) {
                        Row row = rows.next();
                        String text = row.isNullAt(inputIndex) ? null : row.getString(inputIndex);
                        if (text == null && strict) {
                            throw new IllegalArgumentException("jformers: null text in column '" + inputCol
                                    + "' (strict mode; without it a null text gives null)");
                        }
                        window.add(row);
                        texts.add(text);
                    }
                    if (window.isEmpty()) {
                        results = new Object[0];
                        return;
                    }
                    TextFunction.Results r = function.apply(texts, batchSize);
                    results = r.values();
                    if (r.truncated() > 0) {
                        truncated.add(r.truncated());
                        LOG.info("jformers: {} of {} texts cut at the maximum length ({})", r.truncated(), texts.size(),
                                function.key.model());
                    }
                }
            };
        }
    }
}
