package dev.jformers.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.Tensor;
import dev.jformers.models.ModelOutput;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The evaluation metrics of Hugging Face's example scripts: accuracy and macro-F1 (classification, as
 * scikit-learn computes them), entity-level precision/recall/F1 (seqeval's default mode, micro-averaged),
 * exact match and F1 (the SQuAD v1.1 script, in percent), and perplexity = exp(loss).
 */
public final class Metrics {
    private Metrics() {
    }

    /** Fraction of predictions equal to the label. */
    public static double accuracy(int[] predictions, int[] labels) {
        int right = 0;
        for (int i = 0; i < labels.length; i++) {
            right += predictions[i] == labels[i] ? 1 : 0;
        }
        return labels.length == 0 ? 0 : (double) right / labels.length;
    }

    /**
     * scikit-learn's {@code f1_score(average="macro")}: the unweighted mean of per-class F1 over every class that
     * occurs in the labels or the predictions; a class with no true and no predicted positives scores 0.
     */
    public static double macroF1(int[] predictions, int[] labels) {
        Set<Integer> classes = new HashSet<>();
        for (int i = 0; i < labels.length; i++) {
            classes.add(labels[i]);
            classes.add(predictions[i]);
        }
        double sum = 0;
        for (int c : classes) {
            int tp = 0, fp = 0, fn = 0;
            for (int i = 0; i < labels.length; i++) {
                boolean p = predictions[i] == c, t = labels[i] == c;
                tp += p && t ? 1 : 0;
                fp += p && !t ? 1 : 0;
                fn += !p && t ? 1 : 0;
            }
            sum += tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
        }
        return classes.isEmpty() ? 0 : sum / classes.size();
    }

    /** An entity: its type and its first and last token index (in the flattened sequences). */
    public record Entity(String type, int start, int end) {
    }

    /** seqeval's {@code get_entities} (default, lenient mode: IOB1, IOB2, IOE, IOBES tags all accepted). */
    public static List<Entity> entities(List<List<String>> sentences) {
        List<String> seq = new ArrayList<>();
        for (List<String> s : sentences) {
            seq.addAll(s);
            seq.add("O");
        }
        seq.add("O");
        List<Entity> chunks = new ArrayList<>();
        String prevTag = "O", prevType = "";
        int begin = 0;
        for (int i = 0; i < seq.size(); i++) {
            String chunk = seq.get(i);
            String tag = chunk.isEmpty() ? "O" : chunk.substring(0, 1);
            String rest = chunk.length() > 1 ? chunk.substring(1) : "";
            String type = rest.contains("-") ? rest.substring(rest.indexOf('-') + 1) : rest;
            if (type.isEmpty()) {
                type = "_";
            }
            if (endOfChunk(prevTag, tag, prevType, type)) {
                chunks.add(new Entity(prevType, begin, i - 1));
            }
            if (startOfChunk(prevTag, tag, prevType, type)) {
                begin = i;
            }
            prevTag = tag;
            prevType = type;
        }
        return chunks;
    }

    private static boolean endOfChunk(String prev, String tag, String prevType, String type) {
        return prev.equals("E") || prev.equals("S")
                || (prev.equals("B") || prev.equals("I")) && (tag.equals("B") || tag.equals("S") || tag.equals("O"))
                || !prev.equals("O") && !prev.equals(".") && !prevType.equals(type);
    }

    private static boolean startOfChunk(String prev, String tag, String prevType, String type) {
        return tag.equals("B") || tag.equals("S")
                || (prev.equals("E") || prev.equals("S") || prev.equals("O")) && (tag.equals("E") || tag.equals("I"))
                || !tag.equals("O") && !tag.equals(".") && !prevType.equals(type);
    }

    /** seqeval's overall precision, recall, F1 (micro over entities) and token accuracy. */
    public static Map<String, Double> seqeval(List<List<String>> truth, List<List<String>> predicted) {
        Set<Entity> t = new HashSet<>(entities(truth)), p = new HashSet<>(entities(predicted));
        Set<Entity> both = new HashSet<>(t);
        both.retainAll(p);
        double precision = p.isEmpty() ? 0 : (double) both.size() / p.size();
        double recall = t.isEmpty() ? 0 : (double) both.size() / t.size();
        double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        int right = 0, all = 0;
        for (int s = 0; s < truth.size(); s++) {
            for (int i = 0; i < truth.get(s).size(); i++) {
                right += truth.get(s).get(i).equals(predicted.get(s).get(i)) ? 1 : 0;
                all++;
            }
        }
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("precision", precision);
        out.put("recall", recall);
        out.put("f1", f1);
        out.put("accuracy", all == 0 ? 0 : (double) right / all);
        return out;
    }

    private static final Pattern ARTICLES = Pattern.compile("\\b(a|an|the)\\b");
    private static final String PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    /** The SQuAD script's normalize_answer: lower case, no punctuation, no articles, single spaces. */
    public static String normalizeAnswer(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toLowerCase(java.util.Locale.ROOT).toCharArray()) {
            if (PUNCTUATION.indexOf(c) < 0) {
                b.append(c);
            }
        }
        String noArticles = ARTICLES.matcher(b.toString()).replaceAll(" ");
        return String.join(" ", Arrays.stream(noArticles.split("\\s+")).filter(w -> !w.isEmpty()).toList());
    }

    public static double exactMatch(String prediction, List<String> answers) {
        String p = normalizeAnswer(prediction);
        return answers.stream().anyMatch(a -> normalizeAnswer(a).equals(p)) ? 1 : 0;
    }

    /** Token F1 against the best of the gold answers. */
    public static double f1(String prediction, List<String> answers) {
        double best = 0;
        for (String a : answers) {
            best = Math.max(best, tokenF1(prediction, a));
        }
        return best;
    }

    private static double tokenF1(String prediction, String truth) {
        List<String> p = tokens(prediction), t = tokens(truth);
        Map<String, Integer> counts = new HashMap<>();
        t.forEach(w -> counts.merge(w, 1, Integer::sum));
        int same = 0;
        for (String w : p) {
            Integer c = counts.get(w);
            if (c != null && c > 0) {
                same++;
                counts.put(w, c - 1);
            }
        }
        if (same == 0) {
            return 0;
        }
        double precision = (double) same / p.size(), recall = (double) same / t.size();
        return 2 * precision * recall / (precision + recall);
    }

    private static List<String> tokens(String s) {
        String n = normalizeAnswer(s);
        return n.isEmpty() ? List.of() : List.of(n.split(" "));
    }

    /** The SQuAD v1.1 script: {"exact_match", "f1"} in percent over every question. */
    public static Map<String, Double> squad(List<String> predictions, List<List<String>> answers) {
        double em = 0, f1 = 0;
        for (int i = 0; i < predictions.size(); i++) {
            em += exactMatch(predictions.get(i), answers.get(i));
            f1 += f1(predictions.get(i), answers.get(i));
        }
        int n = Math.max(1, predictions.size());
        return new LinkedHashMap<>(Map.of("exact_match", 100 * em / n, "f1", 100 * f1 / n));
    }

    /** Accuracy and macro-F1 of the argmax of {@code logits} [B, C] against {@code labels} [B]. */
    public static final class Classification implements Metric {
        private final List<Integer> predictions = new ArrayList<>(), labels = new ArrayList<>();

        @Override
        public void add(Batch batch, ModelOutput output) {
            Tensor logits = output.get("logits");
            float[] l = logits.toFloatArray();
            int classes = logits.shape()[logits.shape().length - 1];
            long[] truth = batch.labels().labels().toLongArray();
            for (int r = 0; r < truth.length; r++) {
                int best = 0;
                for (int c = 1; c < classes; c++) {
                    if (l[r * classes + c] > l[r * classes + best]) {
                        best = c;
                    }
                }
                predictions.add(best);
                labels.add((int) truth[r]);
            }
        }

        @Override
        public Map<String, Double> compute() {
            int[] p = predictions.stream().mapToInt(Integer::intValue).toArray();
            int[] t = labels.stream().mapToInt(Integer::intValue).toArray();
            Map<String, Double> out = new LinkedHashMap<>();
            out.put("accuracy", accuracy(p, t));
            out.put("f1", macroF1(p, t));
            return out;
        }
    }

    /** Language modelling: perplexity = exp(mean loss over the rows). */
    public static final class Perplexity implements Metric {
        private double lossSum;
        private int rows;

        @Override
        public void add(Batch batch, ModelOutput output) {
            lossSum += output.get("loss").toFloatArray()[0] * (double) batch.size();
            rows += batch.size();
        }

        @Override
        public Map<String, Double> compute() {
            return new LinkedHashMap<>(Map.of("perplexity", Math.exp(lossSum / Math.max(1, rows))));
        }
    }

    /**
     * Token classification (run_ner.py's compute_metrics): at every position with a label (the first token of a
     * word), the argmax tag against the true tag, scored by {@link #seqeval} per sentence.
     */
    public static final class TokenClassification implements Metric {
        private final List<String> names;
        private final List<List<String>> truth = new ArrayList<>(), predicted = new ArrayList<>();

        public TokenClassification(List<String> names) {
            this.names = List.copyOf(names);
        }

        @Override
        public void add(Batch batch, ModelOutput output) {
            Tensor logits = output.get("logits");
            int rows = logits.shape()[0], t = logits.shape()[1], classes = logits.shape()[2];
            float[] l = logits.toFloatArray();
            long[] labels = batch.labels().labels().toLongArray();
            for (int r = 0; r < rows; r++) {
                List<String> tr = new ArrayList<>(), pr = new ArrayList<>();
                for (int i = 0; i < t; i++) {
                    long label = labels[r * t + i];
                    if (label < 0) {
                        continue;
                    }
                    int best = 0, base = (r * t + i) * classes;
                    for (int c = 1; c < classes; c++) {
                        if (l[base + c] > l[base + best]) {
                            best = c;
                        }
                    }
                    tr.add(names.get((int) label));
                    pr.add(names.get(best));
                }
                truth.add(tr);
                predicted.add(pr);
            }
        }

        @Override
        public Map<String, Double> compute() {
            return seqeval(truth, predicted);
        }
    }

    /**
     * Question answering (run_qa.py's postprocess_qa_predictions + the SQuAD metric): for each feature the
     * n_best start and end logits, spans inside the context, end ≥ start, at most max_answer_length tokens,
     * scored start + end; the best span of all an example's features, as text through the offsets; then exact
     * match and F1 against the example's answers.
     */
    public static final class QuestionAnswering implements Metric {
        private final List<String> contexts;
        private final List<List<String>> answers;
        private final int nBest, maxAnswerLength;
        private final double[] bestScore;
        private final String[] bestText;

        public QuestionAnswering(List<String> contexts, List<List<String>> answers, int nBest, int maxAnswerLength) {
            this.contexts = contexts;
            this.answers = answers;
            this.nBest = nBest;
            this.maxAnswerLength = maxAnswerLength;
            bestScore = new double[contexts.size()];
            java.util.Arrays.fill(bestScore, Double.NEGATIVE_INFINITY);
            bestText = new String[contexts.size()];
        }

        @Override
        public void add(Batch batch, ModelOutput output) {
            throw new IllegalStateException("question answering needs the feature rows");
        }

        @Override
        public void add(List<ObjectNode> rows, Batch batch, ModelOutput output) {
            Tensor startLogits = output.get("start_logits");
            int t = startLogits.shape()[1];
            float[] s = startLogits.toFloatArray(), e = output.get("end_logits").toFloatArray();
            for (int r = 0; r < rows.size(); r++) {
                ObjectNode row = rows.get(r);
                int example = row.get("example_id").asInt();
                JsonNode offsets = row.get("offset_mapping");
                int n = offsets.size();
                for (int i : top(s, r * t, n, nBest)) {
                    for (int j : top(e, r * t, n, nBest)) {
                        if (offsets.get(i).get(0).asInt() < 0 || offsets.get(j).get(0).asInt() < 0 || j < i
                                || j - i + 1 > maxAnswerLength) {
                            continue;
                        }
                        double score = s[r * t + i] + e[r * t + j];
                        if (score > bestScore[example]) {
                            bestScore[example] = score;
                            String context = contexts.get(example);
                            int from = context.offsetByCodePoints(0, offsets.get(i).get(0).asInt());
                            int to = context.offsetByCodePoints(0, offsets.get(j).get(1).asInt());
                            bestText[example] = context.substring(from, to);
                        }
                    }
                }
            }
        }

        /** Indices of the k largest of values[offset .. offset + n), largest first. */
        static int[] top(float[] values, int offset, int n, int k) {
            return java.util.stream.IntStream.range(0, n).boxed()
                    .sorted((a, b) -> Float.compare(values[offset + b], values[offset + a]))
                    .limit(k).mapToInt(Integer::intValue).toArray();
        }

        @Override
        public Map<String, Double> compute() {
            List<String> predictions = new ArrayList<>();
            List<List<String>> gold = new ArrayList<>();
            for (int i = 0; i < contexts.size(); i++) {
                if (!answers.get(i).isEmpty()) {                  // SQuAD v1: every question has an answer
                    predictions.add(bestText[i] == null ? "" : bestText[i]);
                    gold.add(answers.get(i));
                }
            }
            return squad(predictions, gold);
        }
    }
}
