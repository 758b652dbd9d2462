package dev.jformers.pipelines;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.jformers.models.CommonConfig;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.tokenizers.Encoding;
import dev.jformers.tokenizers.Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * HF's {@code TextClassificationPipeline} (alias sentiment-analysis): labels and scores for a text or a text pair.
 *
 * <p>The score function is softmax, or sigmoid when the config's {@code problem_type} is
 * multi_label_classification or the model has one label; {@link Options#functionToApply()} overrides it.
 */
public final class TextClassificationPipeline extends Pipeline {

    /** HF's {@code ClassificationFunction}. */
    public enum Function {
        SIGMOID, SOFTMAX, NONE;

        /** "sigmoid" / "softmax" / "none", any case. */
        public static Function parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new PipelineException("Unrecognized `function_to_apply` argument: " + s
                        + " (use sigmoid, softmax or none)");
            }
        }
    }

    /**
     * HF's keyword arguments. HF tells "top_k not given" (legacy output: the best label as a bare dict) from
     * {@code top_k=None} (all labels, sorted) and {@code top_k=k}; so does this record.
     *
     * @param topKGiven       false: HF's default (legacy shapes); true: {@code topK} was passed
     * @param topK            with topKGiven: the number of labels, or null for all (HF's {@code top_k=None})
     * @param returnAllScores HF's deprecated {@code return_all_scores} (null: not given); ignored when topK is given
     * @param functionToApply null: as the config says
     */
    public record Options(boolean topKGiven, Integer topK, Boolean returnAllScores, Function functionToApply) {
        public Options {
            if (topK != null && topK < 1) {
                throw new PipelineException("top_k must be >= 1 or None, got " + topK);
            }
        }

        public static Options defaults() {
            return new Options(false, null, null, null);
        }

        /** HF's {@code top_k=k}. */
        public Options withTopK(int k) {
            return new Options(true, k, returnAllScores, functionToApply);
        }

        /** HF's {@code top_k=None}: every label, best first. */
        public Options withAllLabels() {
            return new Options(true, null, returnAllScores, functionToApply);
        }

        public Options withReturnAllScores(boolean v) {
            return new Options(topKGiven, topK, v, functionToApply);
        }

        public Options withFunctionToApply(Function f) {
            return new Options(topKGiven, topK, returnAllScores, f);
        }
    }

    /** One label with its score: HF's {@code {label, score}}. */
    @JsonPropertyOrder({"label", "score"})
    public record LabelScore(String label, float score) {
    }

    /** A text, or a text pair ({@code {"text": …, "text_pair": …}}) encoded as [CLS] text [SEP] pair [SEP]. */
    public record Input(String text, String textPair) {
        public static Input of(String text) {
            return new Input(text, null);
        }
    }

    TextClassificationPipeline(Path dir, PreTrainedModel model, Tokenizer tokenizer) {
        super("text-classification", dir, model, tokenizer);
    }

    /** The score function the config implies (HF's postprocess default). */
    public Function defaultFunction() {
        CommonConfig c = model().config().common();
        if ("multi_label_classification".equals(c.problemType()) || c.numLabels() == 1) {
            return Function.SIGMOID;
        }
        return Function.SOFTMAX; // single_label_classification, or several labels
    }

    /** Every label with its score, in label-id order. */
    public List<LabelScore> scores(Input input, Function function) {
        return scoresAll(List.of(input), function).getFirst();
    }

    /** {@link #scores} for every input, {@link #batchSize()} inputs per forward pass. */
    public List<List<LabelScore>> scoresAll(List<Input> inputs, Function function) {
        List<Encoding> encodings = inputs.stream()
                .map(in -> tokenizer().encode(in.text(), in.textPair(), encodeOptions(null))).toList();
        return forwardEach(encodings, (out, row, enc) -> scores(out.logits().select(0, row).toFloatArray(), function));
    }

    /** Every label with its score, in label-id order, from one input's logits [labels]. */
    public List<LabelScore> scores(float[] logits, Function function) {
        Function f = function != null ? function : defaultFunction();
        float[] s = switch (f) {
            case SIGMOID -> Scores.sigmoid(logits);
            case SOFTMAX -> Scores.softmax(logits);
            case NONE -> logits;
        };
        CommonConfig c = model().config().common();
        List<LabelScore> labels = new ArrayList<>();
        for (int i = 0; i < s.length; i++) {
            labels.add(new LabelScore(c.id2label().getOrDefault(i, "LABEL_" + i), s[i]));
        }
        return labels;
    }

    /** The typed call: the best label and its score (HF's default output, unwrapped). */
    public LabelScore apply(String text) {
        return sorted(scores(Input.of(text), null), 1).getFirst();
    }

    /** {@link #apply(String)} for every text, batched. */
    public List<LabelScore> apply(List<String> texts) {
        return scoresAll(texts.stream().map(Input::of).toList(), null).stream().map(s -> sorted(s, 1).getFirst()).toList();
    }

    private static List<LabelScore> sorted(List<LabelScore> scores, Integer topK) {
        List<LabelScore> all = new ArrayList<>(scores);
        all.sort(Comparator.comparingDouble((LabelScore l) -> l.score()).reversed()); // stable, like Python's sort
        return topK == null ? all : all.subList(0, Math.min(topK, all.size()));
    }

    /** The labels sorted by score, best first, the first {@code topK} of them (null: all). */
    public List<LabelScore> classify(Input input, Integer topK, Function function) {
        return sorted(scores(input, function), topK);
    }

    /**
     * HF's postprocess for one input's scores: a bare {@link LabelScore} (legacy top-1), the unsorted list of all
     * labels (legacy return_all_scores), or the sorted, truncated list (top_k given).
     */
    static Object postprocess(List<LabelScore> scores, Options o) {
        if (o.topKGiven()) {
            return sorted(scores, o.topK());
        }
        if (Boolean.TRUE.equals(o.returnAllScores())) {
            return scores;
        }
        return sorted(scores, 1).getFirst();
    }

    Object postprocess(Input input, Options o) {
        return postprocess(scores(input, o.functionToApply()), o);
    }

    /**
     * HF's return value for one text: wrapped in a list when top_k was not given (HF's odd legacy), as is when it
     * was: {@code [{label, score}]}, {@code [[…all labels…]]} or {@code [{…}, …]}.
     */
    public Object call(String text, Options options) {
        Object r = postprocess(Input.of(text), options);
        return options.topKGiven() ? r : List.of(r);
    }

    /** HF's return value for a text pair ({@code pipe({"text":…, "text_pair":…})}): never wrapped. */
    public Object call(Input pair, Options options) {
        return postprocess(pair, options);
    }

    /** HF's return value for a list of inputs: one result per input. */
    public List<Object> call(List<Input> inputs, Options options) {
        List<Object> out = new ArrayList<>();
        for (List<LabelScore> scores : scoresAll(inputs, options.functionToApply())) {
            out.add(postprocess(scores, options));
        }
        return out;
    }
}
