package dev.jformers.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.Backend;
import dev.jformers.core.JformersException;
import dev.jformers.core.JsonErrors;
import dev.jformers.models.Labels;
import dev.jformers.models.Task;
import dev.jformers.tokenizers.AutoTokenizer;
import dev.jformers.tokenizers.EncodeOptions;
import dev.jformers.tokenizers.Encoding;
import dev.jformers.tokenizers.Tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * What {@code jformers train TASK} does before the Trainer runs, as Hugging Face's example scripts do it:
 * <ul>
 *   <li>no task: pre-tokenized JSONL rows for the class in config.json's architectures, padded per batch;</li>
 *   <li>text-classification ({@code run_glue.py}): labels sorted and mapped to ids (written to config.json as
 *   id2label/label2id), texts (and pairs) tokenized with truncation to max_length, padding per batch;</li>
 *   <li>text-generation ({@code run_clm.py}): a plain-text file tokenized line by line (line breaks kept),
 *   concatenated and cut into blocks of block_size (the remainder dropped: {@code group_texts});</li>
 *   <li>fill-mask ({@code run_mlm.py}): the same blocks with the special tokens of each line, masked per batch
 *   by {@link DataCollatorForLanguageModeling}.</li>
 * </ul>
 * Weights the checkpoint lacks (a new head; everything with {@code --config}) get Hugging Face's initialisation
 * ({@link TrainableModel#load(Task, Path, ObjectNode, Backend, long)}, {@link TrainableModel#fromConfig}).
 */
public final class TaskData {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TaskData() {
    }

    /** Where the data and the model come from; see the CLI options of the same names. */
    public record Options(String task, Path model, Path config, Path tokenizer, Path train, Path eval, Path output,
                          int maxLength, Integer blockSize, double mlmProbability, String textColumn,
                          String textPairColumn, String labelColumn, long seed) {
        public Options withMaxLength(int length) {
            return new Options(task, model, config, tokenizer, train, eval, output, length, blockSize, mlmProbability,
                    textColumn, textPairColumn, labelColumn, seed);
        }
    }

    /**
     * {@code --max-length} as run_glue.py takes it, {@code min(max_seq_length, tokenizer.model_max_length)}, and
     * never more than the model's position embeddings (a longer row could not run).
     */
    static Options capMaxLength(Options o, ObjectNode config, Tokenizer tokenizer) {
        int cap = Math.min(positions(config), tokenizer.modelMaxLength());
        return o.maxLength() <= cap ? o : o.withMaxLength(cap);
    }

    /** How many positions the model has: n_positions (GPT-2), max_position_embeddings (RoBERTa: less pad + 1). */
    static int positions(ObjectNode config) {
        int positions = config.path("n_positions").asInt(config.path("max_position_embeddings").asInt(512));
        return config.path("model_type").asText().equals("roberta") ? positions - 2 : positions;
    }

    /**
     * How to build the model (on a backend), the tokenizer files to save beside it, the datasets and their
     * collator and metric, how many texts were truncated, and to how many tokens (--max-length, at most what the
     * model takes).
     */
    public record Prepared(java.util.function.Function<Backend, TrainableModel> model, Path tokenizerDir,
                           List<ObjectNode> train, List<ObjectNode> eval, DataCollator collator, Supplier<Metric> metric,
                           int truncated, int maxLength) {
    }

    public static Prepared prepare(Options o) {
        if (o.task() == null) {
            return preTokenized(o);
        }
        Path tokenizerDir = o.tokenizer() != null ? o.tokenizer() : o.model();
        if (tokenizerDir == null) {
            throw new JformersException("training from --config needs --tokenizer DIR (vocab files)");
        }
        ObjectNode config = readConfig(o.config() != null ? o.config() : o.model().resolve("config.json"));
        Tokenizer tokenizer = tokenizer(tokenizerDir, config);
        o = capMaxLength(o, config, tokenizer);
        return switch (o.task()) {
            case "text-classification" -> textClassification(o, tokenizer, tokenizerDir, config);
            case "token-classification" -> tokenClassification(o, tokenizer, tokenizerDir, config);
            case "question-answering" -> questionAnswering(o, tokenizer, tokenizerDir, config);
            case "text-generation", "fill-mask" -> languageModeling(o, tokenizer, tokenizerDir, config);
            default -> throw new JformersException("unknown task '" + o.task() + "'");
        };
    }

    /**
     * The evaluation set of a trained model (its folder in {@code o.model()}, the file in {@code o.eval()}), prepared
     * as for training: labels through the model's label2id, LM text in blocks. Nothing is written.
     */
    public static Prepared forEvaluation(Options o) {
        Path dir = o.model();
        ObjectNode config = readConfig(dir.resolve("config.json"));
        if (o.task() == null) {
            Prepared p = preTokenized(new Options(null, dir, null, null, o.eval(), null, o.output(), o.maxLength(),
                    o.blockSize(), o.mlmProbability(), o.textColumn(), o.textPairColumn(), o.labelColumn(), o.seed()));
            return new Prepared(p.model(), dir, null, p.train(), p.collator(), null, 0, o.maxLength());
        }
        Tokenizer tokenizer = AutoTokenizer.fromPretrained(o.tokenizer() != null ? o.tokenizer() : dir);
        o = capMaxLength(o, config, tokenizer);
        String modelType = config.path("model_type").asText();
        if (o.task().equals("text-classification")) {
            Map<String, Integer> label2id = labels(config, dir);
            int[] truncated = {0};
            List<ObjectNode> rows = encode(DatasetFiles.read(o.eval()), o, tokenizer, label2id, modelType.equals("bert"),
                    o.eval(), truncated);
            return new Prepared(b -> TrainableModel.load(dir, b), dir, null, rows,
                    new DataCollatorWithPadding(padId(tokenizer, config)), Metrics.Classification::new,
                    truncated[0], o.maxLength());
        }
        boolean bert = modelType.equals("bert");
        java.util.function.Function<Backend, TrainableModel> trained = b -> TrainableModel.load(dir, b);
        DataCollator padding = new DataCollatorWithPadding(padId(tokenizer, config));
        if (o.task().equals("token-classification")) {
            Map<String, Integer> label2id = labels(config, dir);
            String words = o.textColumn().equals("text") ? "tokens" : o.textColumn();
            String tags = o.labelColumn().equals("label") ? "ner_tags" : o.labelColumn();
            int[] truncated = {0};
            List<ObjectNode> rows = encodeWords(DatasetFiles.read(o.eval()), o, words, tags, tokenizer, label2id, bert,
                    o.eval(), truncated);
            List<String> names = List.copyOf(label2id.keySet());
            return new Prepared(trained, dir, null, rows, padding, () -> new Metrics.TokenClassification(names), truncated[0], o.maxLength());
        }
        if (o.task().equals("question-answering")) {
            List<DatasetFiles.Row> examples = DatasetFiles.read(o.eval());
            List<ObjectNode> rows = qaFeatures(examples, o, tokenizer, bert, o.eval());
            List<String> contexts = examples.stream().map(r -> r.values().path("context").asText()).toList();
            List<List<String>> answers = examples.stream().map(r -> {
                List<String> a = new ArrayList<>();
                r.values().path("answers").path("text").forEach(x -> a.add(x.asText()));
                return a;
            }).toList();
            return new Prepared(trained, dir, null, rows, padding,
                    () -> new Metrics.QuestionAnswering(contexts, answers, 20, 30), 0, o.maxLength());
        }
        boolean mlm = o.task().equals("fill-mask");
        int positions = config.path("n_positions").asInt(config.path("max_position_embeddings").asInt(512));
        int block = o.blockSize() != null ? o.blockSize() : Math.min(1024, modelType.equals("roberta") ? positions - 2 : positions);
        List<ObjectNode> rows = groupTexts(o.eval(), tokenizer, block, mlm);
        int pad = tokenizer.padTokenId() >= 0 ? tokenizer.padTokenId() : Math.max(0, tokenizer.eosTokenId());
        return new Prepared(b -> TrainableModel.load(dir, b), dir, null, rows, new DataCollatorForLanguageModeling(mlm,
                o.mlmProbability(), pad, mlm ? tokenizer.maskTokenId() : -1, tokenizer.size(), tokenizer.allSpecialIds()),
                Metrics.Perplexity::new, 0, o.maxLength());
    }

    /** A trained model's label2id, in id order (the names of its classes). */
    private static Map<String, Integer> labels(ObjectNode config, Path dir) {
        java.util.TreeMap<Integer, String> byId = new java.util.TreeMap<>();
        config.path("label2id").properties().forEach(e -> byId.put(e.getValue().asInt(), e.getKey()));
        if (byId.isEmpty()) {
            throw new JformersException(dir.resolve("config.json") + " has no label2id: not a model trained for this task");
        }
        Map<String, Integer> label2id = new LinkedHashMap<>();
        byId.forEach((id, name) -> label2id.put(name, id));
        return label2id;
    }

    private static Prepared preTokenized(Options o) {
        if (o.model() == null) {
            throw new JformersException("pre-tokenized training needs --model");
        }
        ObjectNode config = readConfig(o.model().resolve("config.json"));
        int pad = config.hasNonNull("pad_token_id") ? config.get("pad_token_id").asInt()
                : config.path("eos_token_id").asInt(0);
        int positions = positions(config);
        List<ObjectNode> train = rows(o.train(), positions), eval = o.eval() == null ? null : rows(o.eval(), positions);
        Path dir = o.model();
        return new Prepared(b -> TrainableModel.load(dir, b), dir, train, eval, new DataCollatorWithPadding(pad), null, 0, o.maxLength());
    }

    private static List<ObjectNode> rows(Path file, int positions) {
        List<ObjectNode> out = new ArrayList<>();
        for (DatasetFiles.Row r : DatasetFiles.read(file)) {
            JsonNode ids = r.values().get("input_ids");
            if (ids == null || !ids.isArray()) {
                throw new JformersException(r.where() + ": no input_ids list (pre-tokenized rows need input_ids; "
                        + "to train on text, name a TASK such as text-classification)");
            }
            // one sequence, or one per choice (multiple choice): none may be longer than the model's positions
            boolean choices = ids.size() > 0 && ids.get(0).isArray();
            int longest = 0;
            for (JsonNode sequence : choices ? ids : List.of(ids)) {
                if (!sequence.isArray()) {
                    throw r.wrongType("'input_ids'", sequence, "a list of token ids (every choice a list)");
                }
                for (int i = 0; i < sequence.size(); i++) {
                    r.integer(sequence.get(i), "'input_ids'[" + i + "]");
                }
                longest = Math.max(longest, sequence.size());
            }
            if (longest > positions) {
                throw new JformersException(r.where() + ": " + longest + " input_ids, more than the model's "
                        + positions + " positions (pre-tokenized rows are not truncated)");
            }
            out.add(r.values());
        }
        return out;
    }

    // --------------------------------------------------------------------------------- text classification

    private static Prepared textClassification(Options o, Tokenizer tokenizer, Path tokenizerDir, ObjectNode config) {
        List<DatasetFiles.Row> trainRows = DatasetFiles.read(o.train());
        List<DatasetFiles.Row> evalRows = o.eval() == null ? null : DatasetFiles.read(o.eval());
        TreeSet<String> labels = new TreeSet<>();          // run_glue.py: label_list = sorted(set(labels))
        for (DatasetFiles.Row r : trainRows) {
            labels.add(r.text(o.labelColumn()));
        }
        Map<String, Integer> label2id = new LinkedHashMap<>();
        for (String l : labels) {
            label2id.put(l, label2id.size());
        }
        ObjectNode c = withLabels(config, label2id, "single_label_classification");
        String modelType = c.path("model_type").asText();
        int pad = padId(tokenizer, c);
        if (!c.hasNonNull("pad_token_id")) {
            c.put("pad_token_id", pad);                        // GPT-2 finds each row's last real token by it
        }
        boolean tokenTypes = modelType.equals("bert");
        int[] truncated = {0};
        List<ObjectNode> train = encode(trainRows, o, tokenizer, label2id, tokenTypes, o.train(), truncated);
        List<ObjectNode> eval = evalRows == null ? null : encode(evalRows, o, tokenizer, label2id, tokenTypes, o.eval(),
                truncated);
        java.util.function.Function<Backend, TrainableModel> model = o.model() != null
                ? b -> TrainableModel.load(Task.SEQUENCE_CLASSIFICATION, o.model(), c, b, o.seed())
                : b -> fromConfig(c, Task.SEQUENCE_CLASSIFICATION, b, o.seed());
        return new Prepared(model, tokenizerDir, train, eval, new DataCollatorWithPadding(pad),
                Metrics.Classification::new, truncated[0], o.maxLength());
    }

    /**
     * The id rows are padded with: the tokenizer's pad token; a tokenizer without one (GPT-2's) pads with the
     * config's pad_token_id, else with its end-of-text token, the usual recipe, which text-classification also writes
     * to config.json as pad_token_id (GPT-2 finds each row's last real token by it).
     */
    static int padId(Tokenizer tokenizer, JsonNode config) {
        if (tokenizer.padTokenId() >= 0) {
            return tokenizer.padTokenId();
        }
        return config.hasNonNull("pad_token_id") ? config.get("pad_token_id").asInt() : Math.max(0, tokenizer.eosTokenId());
    }

    /** The config with the task's labels: id2label, label2id (and problem_type), as run_glue.py writes them. */
    private static ObjectNode withLabels(ObjectNode config, Map<String, Integer> label2id, String problemType) {
        ObjectNode c = config.deepCopy();
        ObjectNode id2label = c.putObject("id2label"), l2i = c.putObject("label2id");
        label2id.forEach((l, i) -> {
            id2label.put(String.valueOf(i), l);
            l2i.put(l, i);
        });
        c.remove("num_labels");
        if (problemType != null) {
            c.put("problem_type", problemType);
        }
        return c;
    }

    private static List<ObjectNode> encode(List<DatasetFiles.Row> rows, Options o, Tokenizer tokenizer,
                                           Map<String, Integer> label2id, boolean tokenTypes, Path file, int[] truncated) {
        EncodeOptions options = EncodeOptions.defaults().withTruncation(o.maxLength()).withReturnOverflowing(true);
        List<ObjectNode> out = new ArrayList<>(rows.size());
        for (DatasetFiles.Row r : rows) {
            String text = r.text(o.textColumn());
            String pair = o.textPairColumn() == null ? null : r.text(o.textPairColumn());
            String label = r.text(o.labelColumn());
            Integer id = label2id.get(label);
            if (id == null) {
                throw new JformersException(r.where() + ": label '" + label + "' is not among the training "
                        + "labels " + label2id.keySet());
            }
            Encoding e = tokenizer.encode(text, pair, options);
            if (!e.overflowing().isEmpty()) {
                truncated[0]++;
            }
            ObjectNode row = JSON.createObjectNode();
            ints(row.putArray("input_ids"), e.ids());
            ints(row.putArray("attention_mask"), e.attentionMask());
            if (tokenTypes) {
                ints(row.putArray("token_type_ids"), e.typeIds());
            }
            row.put("labels", id);
            out.add(row);
        }
        return out;
    }

    private static void ints(ArrayNode a, int[] values) {
        for (int v : values) {
            a.add(v);
        }
    }

    // ------------------------------------------------------------------------------ token classification

    /**
     * run_ner.py: rows of words ({@code tokens}) and their tags ({@code ner_tags}, names or numbers); tags sorted
     * into label ids (written to config.json); the words joined by spaces and tokenized with truncation; the
     * first token of each word carries the word's tag, the other tokens and the special tokens −100.
     */
    private static Prepared tokenClassification(Options o, Tokenizer tokenizer, Path tokenizerDir, ObjectNode config) {
        String wordsColumn = o.textColumn().equals("text") ? "tokens" : o.textColumn();
        String tagsColumn = o.labelColumn().equals("label") ? "ner_tags" : o.labelColumn();
        List<DatasetFiles.Row> trainRows = DatasetFiles.read(o.train());
        List<DatasetFiles.Row> evalRows = o.eval() == null ? null : DatasetFiles.read(o.eval());
        TreeSet<String> tags = new TreeSet<>();
        for (DatasetFiles.Row r : trainRows) {
            JsonNode list = r.list(tagsColumn);
            for (int i = 0; i < list.size(); i++) {
                tags.add(r.text(list.get(i), "'" + tagsColumn + "'[" + i + "]"));
            }
        }
        Map<String, Integer> label2id = new LinkedHashMap<>();
        tags.forEach(t -> label2id.put(t, label2id.size()));
        ObjectNode c = withLabels(config, label2id, null);
        String modelType = c.path("model_type").asText();
        int[] truncated = {0};
        List<ObjectNode> train = encodeWords(trainRows, o, wordsColumn, tagsColumn, tokenizer, label2id,
                modelType.equals("bert"), o.train(), truncated);
        List<ObjectNode> eval = evalRows == null ? null : encodeWords(evalRows, o, wordsColumn, tagsColumn, tokenizer,
                label2id, modelType.equals("bert"), o.eval(), truncated);
        java.util.function.Function<Backend, TrainableModel> model = o.model() != null
                ? b -> TrainableModel.load(Task.TOKEN_CLASSIFICATION, o.model(), c, b, o.seed())
                : b -> fromConfig(c, Task.TOKEN_CLASSIFICATION, b, o.seed());
        List<String> names = List.copyOf(label2id.keySet());
        return new Prepared(model, tokenizerDir, train, eval, new DataCollatorWithPadding(padId(tokenizer, config)),
                () -> new Metrics.TokenClassification(names), truncated[0], o.maxLength());
    }

    static List<ObjectNode> encodeWords(List<DatasetFiles.Row> rows, Options o, String wordsColumn, String tagsColumn,
                                        Tokenizer tokenizer, Map<String, Integer> label2id, boolean tokenTypes, Path file,
                                        int[] truncated) {
        EncodeOptions options = EncodeOptions.defaults().withTruncation(o.maxLength()).withReturnOverflowing(true);
        List<ObjectNode> out = new ArrayList<>(rows.size());
        for (DatasetFiles.Row r : rows) {
            JsonNode words = r.list(wordsColumn), tagList = r.list(tagsColumn);
            if (words.size() != tagList.size()) {
                throw new JformersException(r.where() + ": '" + wordsColumn + "' and '" + tagsColumn
                        + "' must be lists of the same length");
            }
            StringBuilder text = new StringBuilder();
            List<Integer> wordOfChar = new ArrayList<>();        // each character → its word (a space → the next word)
            for (int w = 0; w < words.size(); w++) {
                if (w > 0) {
                    text.append(' ');
                    wordOfChar.add(w);
                }
                String word = r.text(words.get(w), "'" + wordsColumn + "'[" + w + "]");
                text.append(word);
                for (int k = 0; k < word.length(); k++) {
                    wordOfChar.add(w);
                }
            }
            Encoding e = tokenizer.encode(text.toString(), options);
            if (!e.overflowing().isEmpty()) {
                truncated[0]++;
            }
            int[] ids = e.ids(), sequence = e.sequenceIds(), starts = e.startOffsets(), ends = e.endOffsets();
            ObjectNode row = JSON.createObjectNode();
            ints(row.putArray("input_ids"), ids);
            ints(row.putArray("attention_mask"), e.attentionMask());
            if (tokenTypes) {
                ints(row.putArray("token_type_ids"), e.typeIds());
            }
            ArrayNode labels = row.putArray("labels");
            int previousWord = -1;
            for (int i = 0; i < ids.length; i++) {
                if (sequence[i] < 0 || ends[i] <= starts[i] || starts[i] >= wordOfChar.size()) {
                    labels.add(Labels.IGNORE_INDEX);
                    continue;
                }
                int word = wordOfChar.get(starts[i]);
                if (word == previousWord) {
                    labels.add(Labels.IGNORE_INDEX);             // run_ner.py: label_all_tokens = False
                    continue;
                }
                previousWord = word;
                String tag = r.text(tagList.get(word), "'" + tagsColumn + "'[" + word + "]");
                Integer id = label2id.get(tag);
                if (id == null) {
                    throw new JformersException(r.where() + ": tag '" + tag + "' is not among the training tags "
                            + label2id.keySet());
                }
                labels.add(id);
            }
            out.add(row);
        }
        return out;
    }

    // -------------------------------------------------------------------------------- question answering

    /**
     * run_qa.py's prepare_train_features: question and context tokenized as a pair, the context truncated to
     * max_length in windows that overlap by {@code stride} tokens; each window's answer span mapped through
     * the offsets to token positions, or both positions on [CLS] when the answer is not wholly inside the
     * window (or the question has none). Rows: {@code question}, {@code context}, {@code answers} = {"text":
     * [...], "answer_start": [...]} (SQuAD's JSON layout is read too). Each feature keeps its example's index
     * and its context offsets, so the evaluation can map the best span back to text.
     */
    private static Prepared questionAnswering(Options o, Tokenizer tokenizer, Path tokenizerDir, ObjectNode config) {
        List<DatasetFiles.Row> trainRows = DatasetFiles.read(o.train());
        List<DatasetFiles.Row> evalRows = o.eval() == null ? null : DatasetFiles.read(o.eval());
        boolean tokenTypes = config.path("model_type").asText().equals("bert");
        List<ObjectNode> train = qaFeatures(trainRows, o, tokenizer, tokenTypes, o.train());
        List<ObjectNode> eval = evalRows == null ? null : qaFeatures(evalRows, o, tokenizer, tokenTypes, o.eval());
        java.util.function.Function<Backend, TrainableModel> model = o.model() != null
                ? b -> TrainableModel.load(Task.QUESTION_ANSWERING, o.model(), b, o.seed())
                : b -> fromConfig(config, Task.QUESTION_ANSWERING, b, o.seed());
        List<String> contexts = evalRows == null ? List.of()
                : evalRows.stream().map(r -> r.values().path("context").asText()).toList();
        List<List<String>> answers = evalRows == null ? List.of() : evalRows.stream().map(r -> {
            List<String> a = new ArrayList<>();
            r.values().path("answers").path("text").forEach(t -> a.add(t.asText()));
            return a;
        }).toList();
        return new Prepared(model, tokenizerDir, train, eval, new DataCollatorWithPadding(padId(tokenizer, config)),
                () -> new Metrics.QuestionAnswering(contexts, answers, 20, 30), 0, o.maxLength());
    }

    /** The windows (features) of every example, as run_qa.py builds them; {@code stride} 128 with max_length 384. */
    public static List<ObjectNode> qaFeatures(List<DatasetFiles.Row> rows, Options o, Tokenizer tokenizer,
                                              boolean tokenTypes, Path file) {
        int stride = Math.min(128, Math.max(0, o.maxLength() / 3));
        EncodeOptions options = EncodeOptions.defaults().withMaxLength(o.maxLength())
                .withTruncation(dev.jformers.tokenizers.TruncationStrategy.ONLY_SECOND).withStride(stride)
                .withReturnOverflowing(true);
        int cls = tokenizer.clsTokenId() >= 0 ? tokenizer.clsTokenId() : tokenizer.bosTokenId();
        List<ObjectNode> out = new ArrayList<>();
        for (int example = 0; example < rows.size(); example++) {
            DatasetFiles.Row r = rows.get(example);
            String question = r.text("question").stripLeading();
            String context = r.text("context");
            // SQuAD's answers: {"text": [...], "answer_start": [...]}, the first one trained on; none (SQuAD v2's
            // unanswerable questions, or no "answers" column) puts start and end on [CLS]
            int startChar = -1, endChar = -1;
            JsonNode answers = r.values().path("answers");
            if (!answers.isMissingNode() && !answers.isNull()) {
                JsonNode starts = answers.path("answer_start"), texts = answers.path("text");
                if (!starts.isArray() || !texts.isArray() || starts.size() != texts.size()) {
                    throw new JformersException(r.where() + ": 'answers' must be {\"text\": [...], \"answer_start\": [...]}"
                            + " with lists of the same length");
                }
                if (starts.size() > 0) {
                    startChar = r.integer(starts.get(0), "'answers'.answer_start[0]");
                    String answer = r.text(texts.get(0), "'answers'.text[0]");
                    endChar = startChar + answer.codePointCount(0, answer.length());
                }
            }
            Encoding first = tokenizer.encode(question, context, options);
            List<Encoding> windows = new ArrayList<>();
            windows.add(first);
            windows.addAll(first.overflowing());
            for (Encoding e : windows) {
                int[] ids = e.ids(), sequence = e.sequenceIds();
                int[][] offsets = e.codePointOffsets(question, context);
                int clsIndex = 0;
                for (int i = 0; i < ids.length; i++) {
                    if (ids[i] == cls) {
                        clsIndex = i;
                        break;
                    }
                }
                int start = clsIndex, end = clsIndex;
                if (startChar >= 0) {
                    int tokenStart = 0, tokenEnd = ids.length - 1;
                    while (tokenStart < ids.length && sequence[tokenStart] != 1) {
                        tokenStart++;
                    }
                    while (tokenEnd >= 0 && sequence[tokenEnd] != 1) {
                        tokenEnd--;
                    }
                    if (tokenStart <= tokenEnd && offsets[tokenStart][0] <= startChar && offsets[tokenEnd][1] >= endChar) {
                        while (tokenStart < offsets.length && offsets[tokenStart][0] <= startChar) {
                            tokenStart++;
                        }
                        start = tokenStart - 1;
                        while (offsets[tokenEnd][1] >= endChar) {
                            tokenEnd--;
                        }
                        end = tokenEnd + 1;
                    }
                }
                ObjectNode row = JSON.createObjectNode();
                ints(row.putArray("input_ids"), ids);
                ints(row.putArray("attention_mask"), e.attentionMask());
                if (tokenTypes) {
                    ints(row.putArray("token_type_ids"), e.typeIds());
                }
                row.put("start_positions", start);
                row.put("end_positions", end);
                row.put("example_id", example);
                ArrayNode map = row.putArray("offset_mapping");          // context tokens only; others [-1, -1]
                for (int i = 0; i < ids.length; i++) {
                    boolean inContext = sequence[i] == 1;
                    map.addArray().add(inContext ? offsets[i][0] : -1).add(inContext ? offsets[i][1] : -1);
                }
                out.add(row);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------------------------- language modelling

    private static Prepared languageModeling(Options o, Tokenizer tokenizer, Path tokenizerDir, ObjectNode config) {
        boolean mlm = o.task().equals("fill-mask");
        String modelType = config.path("model_type").asText();
        int positions = positions(config);
        int block = o.blockSize() != null ? o.blockSize() : Math.min(1024, positions);
        if (block < 2 || block > positions) {
            throw new JformersException("--block-size must be in [2, " + positions + "] for this model, got " + block);
        }
        List<ObjectNode> train = groupTexts(o.train(), tokenizer, block, mlm);
        List<ObjectNode> eval = o.eval() == null ? null : groupTexts(o.eval(), tokenizer, block, mlm);
        int pad = tokenizer.padTokenId() >= 0 ? tokenizer.padTokenId() : Math.max(0, tokenizer.eosTokenId());
        DataCollator collator = new DataCollatorForLanguageModeling(mlm, o.mlmProbability(), pad,
                mlm ? tokenizer.maskTokenId() : -1, tokenizer.size(), tokenizer.allSpecialIds());
        Task task = mlm ? Task.MASKED_LM : Task.CAUSAL_LM;
        java.util.function.Function<Backend, TrainableModel> model = o.model() != null
                ? b -> TrainableModel.load(task, o.model(), b, o.seed())
                : b -> fromConfig(config, task, b, o.seed());
        return new Prepared(model, tokenizerDir, train, eval, collator, Metrics.Perplexity::new, 0, o.maxLength());
    }

    /**
     * The tokenizer in {@code dir}; a folder of bare vocabulary files (vocab.json + merges.txt, or vocab.txt)
     * is read as the config's model_type says.
     */
    static Tokenizer tokenizer(Path dir, ObjectNode config) {
        boolean described = Files.isRegularFile(dir.resolve("tokenizer.json"))
                || Files.isRegularFile(dir.resolve("tokenizer_config.json")) || Files.isRegularFile(dir.resolve("config.json"));
        String type = config.path("model_type").asText();
        if (!described && Files.isRegularFile(dir.resolve("merges.txt")) && (type.equals("gpt2") || type.equals("roberta"))) {
            return type.equals("gpt2") ? AutoTokenizer.gpt2FromFiles(dir.resolve("vocab.json"), dir.resolve("merges.txt"))
                    : AutoTokenizer.robertaFromFiles(dir.resolve("vocab.json"), dir.resolve("merges.txt"));
        }
        if (!described && Files.isRegularFile(dir.resolve("vocab.txt"))) {
            return AutoTokenizer.bertFromVocab(dir.resolve("vocab.txt"), true);
        }
        return AutoTokenizer.fromPretrained(dir);
    }

    /** A new model from a config alone (HF's from_config), written to a temporary file for the loader. */
    private static TrainableModel fromConfig(ObjectNode config, Task task, Backend backend, long seed) {
        try {
            Path file = Files.createTempFile("jformers-config", ".json");
            try {
                Files.writeString(file, config.toPrettyString());
                return TrainableModel.fromConfig(file, task, backend, seed);
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A config.json as a JSON object, or an error naming the file. */
    public static ObjectNode readConfig(Path file) {
        try {
            if (!(JSON.readTree(file.toFile()) instanceof ObjectNode o)) {
                throw new JformersException(file + ": expected a JSON object");
            }
            return o;
        } catch (java.io.FileNotFoundException e) {
            throw new JformersException(file + ": no such file");
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new JformersException(JsonErrors.message(file, e));
        } catch (IOException e) {
            throw new JformersException(file + ": not a readable config.json (" + e.getMessage() + ")");
        }
    }

    /**
     * run_clm.py / run_mlm.py's tokenize + group_texts: every line tokenized (with its line break, and for MLM
     * with the tokenizer's special tokens), all ids concatenated, cut into blocks of {@code block} tokens; the
     * remainder shorter than a block is dropped.
     */
    public static List<ObjectNode> groupTexts(Path file, Tokenizer tokenizer, int block, boolean specialTokens) {
        String text = DatasetFiles.readText(file);
        EncodeOptions options = EncodeOptions.defaults().withAddSpecialTokens(specialTokens);
        List<Integer> ids = new ArrayList<>();
        List<Integer> special = new ArrayList<>();
        for (String line : text.split("(?<=\n)")) {
            if (line.isBlank()) {
                continue;
            }
            Encoding e = tokenizer.encode(specialTokens ? line.strip() : line, options);
            for (int i = 0; i < e.ids().length; i++) {
                ids.add(e.ids()[i]);
                special.add(e.specialTokensMask()[i]);
            }
        }
        List<ObjectNode> out = new ArrayList<>();
        for (int s = 0; s + block <= ids.size(); s += block) {
            ObjectNode row = JSON.createObjectNode();
            ArrayNode a = row.putArray("input_ids");
            ids.subList(s, s + block).forEach(a::add);
            if (specialTokens) {
                ArrayNode m = row.putArray("special_tokens_mask");
                special.subList(s, s + block).forEach(m::add);
            }
            out.add(row);
        }
        if (out.isEmpty()) {
            throw new JformersException(file + ": " + ids.size() + " tokens, fewer than one block of " + block
                    + " (use a smaller --block-size)");
        }
        return out;
    }
}
