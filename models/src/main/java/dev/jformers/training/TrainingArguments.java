package dev.jformers.training;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.jformers.core.JformersException;
import dev.jformers.core.JsonErrors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Hugging Face's {@code TrainingArguments}: the same names (camelCase here, snake_case in
 * {@code training_args.json}) and the same defaults. Fields are public and mutable, as the Python dataclass's:
 * <pre>
 *   TrainingArguments args = new TrainingArguments(Path.of("out"));
 *   args.learningRate = 2e-5;
 *   args.evaluationStrategy = "epoch";
 * </pre>
 * Two additions that Hugging Face does not have: {@link #shuffle} (false: the rows in file order, as the
 * golden runs need) and nothing else.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public final class TrainingArguments {
    static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public String outputDir;
    public boolean overwriteOutputDir = false;
    public double numTrainEpochs = 3.0;
    /** > 0: the number of optimizer steps, overriding numTrainEpochs. */
    public int maxSteps = -1;
    public int perDeviceTrainBatchSize = 8;
    public int perDeviceEvalBatchSize = 8;
    public int gradientAccumulationSteps = 1;
    public double learningRate = 5e-5;
    public double weightDecay = 0.0;
    public double adamBeta1 = 0.9;
    public double adamBeta2 = 0.999;
    public double adamEpsilon = 1e-8;
    public double maxGradNorm = 1.0;
    /** "adamw_torch" (the Trainer's default) or "sgd". */
    public String optim = "adamw_torch";
    /** linear, cosine, constant, constant_with_warmup. */
    public String lrSchedulerType = "linear";
    public int warmupSteps = 0;
    public double warmupRatio = 0.0;
    public int loggingSteps = 500;
    public boolean loggingFirstStep = false;
    /** no, steps, epoch. */
    public String evaluationStrategy = "no";
    /** Null: loggingSteps, as in Hugging Face. */
    public Integer evalSteps = null;
    /** no, steps, epoch. */
    public String saveStrategy = "steps";
    public int saveSteps = 500;
    /** Null: keep every checkpoint; otherwise the newest N (and the best one). */
    public Integer saveTotalLimit = null;
    public boolean loadBestModelAtEnd = false;
    /** Null: "loss" when loadBestModelAtEnd is set. Without the "eval_" prefix or with it. */
    public String metricForBestModel = null;
    /** Null: true unless the metric is a loss. */
    public Boolean greaterIsBetter = null;
    public int seed = 42;
    public boolean dataloaderDropLast = false;
    /** Hugging Face's group_by_length: batches of rows of similar length (less padding). */
    public boolean groupByLength = false;
    /** jformers: false keeps the rows in file order (Hugging Face always shuffles the training set). */
    public boolean shuffle = true;

    public TrainingArguments() {
    }

    public TrainingArguments(Path outputDir) {
        this.outputDir = outputDir.toString();
    }

    /** Checks every value, naming the first bad one (as the CLI option it comes from). */
    public TrainingArguments validate() {
        if (outputDir == null || outputDir.isBlank()) {
            throw new JformersException("output_dir is required");
        }
        positive(perDeviceTrainBatchSize, "per_device_train_batch_size");
        positive(perDeviceEvalBatchSize, "per_device_eval_batch_size");
        positive(gradientAccumulationSteps, "gradient_accumulation_steps");
        positive(loggingSteps, "logging_steps");
        if (!(learningRate > 0)) {
            throw new JformersException("learning_rate must be > 0, got " + learningRate);
        }
        if (maxSteps <= 0 && !(numTrainEpochs > 0)) {
            throw new JformersException("num_train_epochs must be > 0 (or max_steps set), got " + numTrainEpochs);
        }
        if (warmupSteps < 0 || warmupRatio < 0 || warmupRatio > 1) {
            throw new JformersException("warmup_steps must be ≥ 0 and warmup_ratio in [0, 1]");
        }
        if (weightDecay < 0 || maxGradNorm < 0) {
            throw new JformersException("weight_decay and max_grad_norm must be ≥ 0");
        }
        LearningRateSchedule.kind(lrSchedulerType);
        oneOf(optim, "optim", "adamw_torch", "sgd");
        oneOf(evaluationStrategy, "evaluation_strategy", "no", "steps", "epoch");
        oneOf(saveStrategy, "save_strategy", "no", "steps", "epoch");
        if (saveTotalLimit != null) {
            positive(saveTotalLimit, "save_total_limit");
        }
        if (evalSteps != null) {
            positive(evalSteps, "eval_steps");
        }
        positive(saveSteps, "save_steps");
        if (loadBestModelAtEnd) {
            if (evaluationStrategy.equals("no")) {
                throw new JformersException("load_best_model_at_end needs an evaluation_strategy (steps or epoch)");
            }
            if (!saveStrategy.equals(evaluationStrategy)) {
                throw new JformersException("load_best_model_at_end needs save_strategy = evaluation_strategy, got "
                        + saveStrategy + " and " + evaluationStrategy);
            }
            if (saveStrategy.equals("steps") && saveSteps % evalSteps() != 0) {
                throw new JformersException("load_best_model_at_end needs save_steps to be a multiple of eval_steps");
            }
        }
        return this;
    }

    private static void positive(int v, String name) {
        if (v <= 0) {
            throw new JformersException(name + " must be > 0, got " + v);
        }
    }

    private static void oneOf(String v, String name, String... allowed) {
        for (String a : allowed) {
            if (a.equals(v)) {
                return;
            }
        }
        throw new JformersException(name + " must be one of " + String.join(", ", allowed) + ", got '" + v + "'");
    }

    public int evalSteps() {
        return evalSteps != null ? evalSteps : loggingSteps;
    }

    /** The metric compared across evaluations, with its "eval_" prefix. */
    public String metricForBestModel() {
        String m = metricForBestModel == null ? "loss" : metricForBestModel;
        return m.startsWith("eval_") ? m : "eval_" + m;
    }

    public boolean greaterIsBetter() {
        if (greaterIsBetter != null) {
            return greaterIsBetter;
        }
        String m = metricForBestModel().toLowerCase(Locale.ROOT);
        return !(m.endsWith("loss") || m.endsWith("perplexity"));
    }

    public Path outputPath() {
        return Path.of(outputDir);
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A training_args.json's text; an error is one line naming the field, where it is and what was expected. */
    public static TrainingArguments fromJson(String json) {
        return read(json, "training_args.json", TrainingArguments.class);
    }

    /** {@code json} as a {@code type}, or one message naming {@code source}, the line and column and what was wrong. */
    static <T> T read(String json, Object source, Class<T> type) {
        try {
            return JSON.readValue(json, type);
        } catch (MismatchedInputException e) {
            throw new JformersException(mismatch(source, e));
        } catch (JacksonException e) {
            throw new JformersException(JsonErrors.message(source, e));
        }
    }

    /** "FILE: line 3, column 20: "learning_rate" must be a number, not the string "fast"". */
    private static String mismatch(Object source, MismatchedInputException e) {
        JsonLocation at = e.getLocation();
        String where = at == null || at.getLineNr() < 1 ? "" : ": line " + at.getLineNr() + ", column " + at.getColumnNr();
        if (e.getPath().isEmpty()) {
            return source + where + ": expected a JSON object";
        }
        StringBuilder field = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            field.append(r.getFieldName() != null ? (field.isEmpty() ? "" : ".") + r.getFieldName() : "[" + r.getIndex() + "]");
        }
        Class<?> t = e.getTargetType();
        String expected = t == null ? "of another type"
                : t == int.class || t == Integer.class || t == long.class || t == Long.class ? "an integer"
                : t == double.class || t == Double.class || t == float.class || t == Float.class ? "a number"
                : t == boolean.class || t == Boolean.class ? "true or false"
                : t == String.class ? "a string"
                : java.util.Collection.class.isAssignableFrom(t) ? "a list"
                : "an object";
        String got = "";
        if (e instanceof InvalidFormatException f) {
            got = f.getValue() instanceof String v ? ", not the string \"" + v + "\"" : ", not " + f.getValue();
        } else {
            // Jackson says what it found as "... from Array value (token `JsonToken.START_ARRAY`)"
            String m = String.valueOf(e.getOriginalMessage());
            got = m.contains("from Array value") ? ", not a list" : m.contains("from Object value") ? ", not an object"
                    : m.contains("from Boolean value") ? ", not true or false" : m.contains("from String value") ? ", not a string"
                    : m.contains("from Floating-point value") ? ", not a fraction" : "";
        }
        return source + where + ": \"" + field + "\" must be " + expected + got;
    }
}
