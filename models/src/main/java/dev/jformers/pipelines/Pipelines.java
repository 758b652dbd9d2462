package dev.jformers.pipelines;

import dev.jformers.core.Backend;
import dev.jformers.models.AutoModels;
import dev.jformers.models.CausalLM;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.Task;
import dev.jformers.models.hub.ModelResolver;
import dev.jformers.tokenizers.AutoTokenizer;
import dev.jformers.tokenizers.Tokenizer;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * HF's {@code pipeline(task, model)}: the tokenizer and the model of a folder (or a model id that
 * {@link ModelResolver} can resolve), ready for one task.
 *
 * <pre>{@code
 * try (var ner = (TokenClassificationPipeline) Pipelines.pipeline("ner", "path/to/model")) {
 *     var entities = ner.predict("My name is Wolfgang and I live in Berlin.",
 *             TokenClassificationPipeline.Options.defaults()
 *                     .withAggregationStrategy(TokenClassificationPipeline.AggregationStrategy.SIMPLE));
 * }
 * }</pre>
 * Tasks: fill-mask; text-classification (alias sentiment-analysis); token-classification (alias ner);
 * question-answering; text-generation; feature-extraction.
 */
public final class Pipelines {
    private Pipelines() {
    }

    /** Canonical task names with HF's default model for each (the model {@code pipeline(task)} downloads). */
    private static final Map<String, String> DEFAULT_MODELS = new LinkedHashMap<>();
    private static final Map<String, String> ALIASES = Map.of(
            "sentiment-analysis", "text-classification",
            "ner", "token-classification");

    static {
        DEFAULT_MODELS.put("fill-mask", "distilroberta-base");
        DEFAULT_MODELS.put("text-classification", "distilbert-base-uncased-finetuned-sst-2-english");
        DEFAULT_MODELS.put("token-classification", "dbmdz/bert-large-cased-finetuned-conll03-english");
        DEFAULT_MODELS.put("question-answering", "distilbert-base-cased-distilled-squad");
        DEFAULT_MODELS.put("text-generation", "gpt2");
        DEFAULT_MODELS.put("feature-extraction", "distilbert-base-cased");
    }

    /** The supported tasks (canonical names). */
    public static List<String> tasks() {
        return List.copyOf(DEFAULT_MODELS.keySet());
    }

    /** The canonical name of a task or alias ("ner" → "token-classification"). */
    public static String canonicalTask(String task) {
        String t = task == null ? "" : task.trim().toLowerCase(Locale.ROOT);
        t = ALIASES.getOrDefault(t, t);
        if (!DEFAULT_MODELS.containsKey(t)) {
            throw new PipelineException("Unknown task " + task + ", available tasks are "
                    + tasks() + " and aliases " + ALIASES.keySet());
        }
        return t;
    }

    /** HF's default model id for a task (what HF's {@code pipeline(task)} fetches). */
    public static String hfDefaultModel(String task) {
        return DEFAULT_MODELS.get(canonicalTask(task));
    }

    /**
     * The model {@link #pipeline(String)} uses: HF's default, except where a public model that Maven can supply
     * does the job (fill-mask: bert-base-uncased; feature-extraction: sentence-transformers/all-MiniLM-L6-v2).
     */
    public static String defaultModel(String task) {
        return switch (canonicalTask(task)) {
            case "fill-mask" -> "bert-base-uncased";
            case "feature-extraction" -> "sentence-transformers/all-MiniLM-L6-v2";
            default -> hfDefaultModel(task);
        };
    }

    /** {@code pipeline(task)} with {@link #defaultModel(String)}; fails naming the model when it cannot be had. */
    public static Pipeline pipeline(String task) {
        String model = defaultModel(task);
        Path dir;
        try {
            dir = ModelResolver.resolve(model);
        } catch (RuntimeException e) {
            throw new PipelineException("no model given, and the default model for " + canonicalTask(task)
                    + " is not available: " + e.getMessage());
        }
        return pipeline(task, dir.toString(), null);
    }

    /** {@code pipeline(task, model)} on the default backend (closed with the pipeline). */
    public static Pipeline pipeline(String task, String model) {
        return pipeline(task, model, null);
    }

    /**
     * {@code pipeline(task, model)}.
     *
     * @param model   a model folder or an id {@link ModelResolver} knows
     * @param backend where the model runs; null: the default backend, created for this pipeline and closed with it
     */
    public static Pipeline pipeline(String task, String model, Backend backend) {
        String t = canonicalTask(task);
        Path dir = ModelResolver.resolve(model);
        Tokenizer tokenizer = AutoTokenizer.fromPretrained(dir);
        // backend null: the model creates its own and closes it when the pipeline closes it.
        return switch (t) {
            case "fill-mask" -> new FillMaskPipeline(dir, AutoModels.load(Task.MASKED_LM, dir, backend), tokenizer);
            case "text-classification" -> new TextClassificationPipeline(dir,
                    AutoModels.load(Task.SEQUENCE_CLASSIFICATION, dir, backend), tokenizer);
            case "token-classification" -> new TokenClassificationPipeline(dir,
                    AutoModels.load(Task.TOKEN_CLASSIFICATION, dir, backend), tokenizer);
            case "question-answering" -> new QuestionAnsweringPipeline(dir,
                    AutoModels.load(Task.QUESTION_ANSWERING, dir, backend), tokenizer);
            case "text-generation" -> {
                PreTrainedModel m = AutoModels.load(Task.CAUSAL_LM, dir, backend);
                if (!(m instanceof CausalLM lm)) {
                    m.close();
                    throw new PipelineException("text-generation needs a causal LM; " + dir + " holds a " + m.modelClass());
                }
                yield new TextGenerationPipeline(dir, lm, tokenizer);
            }
            case "feature-extraction" -> new FeatureExtractionPipeline(dir, AutoModels.load(Task.BASE, dir, backend), tokenizer);
            default -> throw new IllegalStateException(t);
        };
    }

    public static FillMaskPipeline fillMask(String model) {
        return (FillMaskPipeline) pipeline("fill-mask", model);
    }

    public static TextClassificationPipeline textClassification(String model) {
        return (TextClassificationPipeline) pipeline("text-classification", model);
    }

    public static TokenClassificationPipeline tokenClassification(String model) {
        return (TokenClassificationPipeline) pipeline("token-classification", model);
    }

    public static QuestionAnsweringPipeline questionAnswering(String model) {
        return (QuestionAnsweringPipeline) pipeline("question-answering", model);
    }

    public static TextGenerationPipeline textGeneration(String model) {
        return (TextGenerationPipeline) pipeline("text-generation", model);
    }

    public static FeatureExtractionPipeline featureExtraction(String model) {
        return (FeatureExtractionPipeline) pipeline("feature-extraction", model);
    }
}
