package dev.jformers.pipelines;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.jformers.core.Tensor;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.tokenizers.EncodeOptions;
import dev.jformers.tokenizers.Encoding;
import dev.jformers.tokenizers.HfTokenizer;
import dev.jformers.tokenizers.TruncationStrategy;
import dev.jformers.tokenizers.Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * HF's {@code TokenClassificationPipeline} (alias ner), on the fast-tokenizer path: character offsets come from the
 * tokenizer, and subwords are recognised by them, so every aggregation strategy works.
 *
 * <p>Per token: softmax over the labels. {@link AggregationStrategy#NONE} returns one entity per token;
 * the others merge tokens into words ({@code FIRST}, {@code AVERAGE}, {@code MAX}) and then B-/I- runs into groups.
 */
public final class TokenClassificationPipeline extends Pipeline {

    /** HF's {@code AggregationStrategy}. */
    public enum AggregationStrategy {
        NONE, SIMPLE, FIRST, AVERAGE, MAX;

        public static AggregationStrategy parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new PipelineException("unknown aggregation_strategy '" + s + "' (use none, simple, first, average or max)");
            }
        }
    }

    /**
     * @param aggregationStrategy HF's default NONE
     * @param ignoreLabels        entities (or groups) with these labels are dropped; HF's default ["O"]
     * @param stride              null: a long text is cut at the model's maximum length (HF's default); else HF's
     *                            {@code stride}: the whole text runs in overlapping windows sharing this many tokens,
     *                            and the entities of all windows are merged (needs an aggregation strategy)
     */
    public record Options(AggregationStrategy aggregationStrategy, List<String> ignoreLabels, Integer stride) {
        public Options {
            aggregationStrategy = aggregationStrategy == null ? AggregationStrategy.NONE : aggregationStrategy;
            ignoreLabels = ignoreLabels == null ? List.of("O") : List.copyOf(ignoreLabels);
            if (stride != null && stride < 0) {
                throw new PipelineException("stride must be >= 0, got " + stride);
            }
            if (stride != null && aggregationStrategy == AggregationStrategy.NONE) {
                // HF's wording
                throw new PipelineException("`stride` was provided to process all the text but `aggregation_strategy=\"none\"`"
                        + " is selected, which is not suited for this case. Please select another one instead.");
            }
        }

        /** HF's options without a stride. */
        public Options(AggregationStrategy aggregationStrategy, List<String> ignoreLabels) {
            this(aggregationStrategy, ignoreLabels, null);
        }

        /** HF's defaults: no aggregation, "O" ignored, no stride. */
        public static Options defaults() {
            return new Options(AggregationStrategy.NONE, null, null);
        }

        /**
         * HF's deprecated {@code grouped_entities} / {@code ignore_subwords} (null: not given): when either is given
         * it decides the strategy, as in HF (grouped and ignore_subwords: FIRST; grouped: SIMPLE; else NONE).
         */
        public Options withLegacyGrouping(Boolean groupedEntities, Boolean ignoreSubwords) {
            if (groupedEntities == null && ignoreSubwords == null) {
                return this;
            }
            boolean grouped = Boolean.TRUE.equals(groupedEntities);
            boolean ignore = Boolean.TRUE.equals(ignoreSubwords);
            return withAggregationStrategy(grouped && ignore ? AggregationStrategy.FIRST
                    : grouped ? AggregationStrategy.SIMPLE : AggregationStrategy.NONE);
        }

        /** These options with another aggregation strategy. */
        public Options withAggregationStrategy(AggregationStrategy s) {
            return new Options(s, ignoreLabels, stride);
        }

        /** These options with other labels to drop. */
        public Options withIgnoreLabels(List<String> labels) {
            return new Options(aggregationStrategy, labels, stride);
        }

        /** These options with HF's {@code stride} (null: none). */
        public Options withStride(Integer tokens) {
            return new Options(aggregationStrategy, ignoreLabels, tokens);
        }
    }

    /** What the pipeline returns: tokens (strategy none) or groups (the other strategies). */
    public sealed interface Entity permits TokenEntity, EntityGroup {
        float score();

        String word();

        Integer start();

        Integer end();
    }

    /**
     * One token: HF's {@code {entity, score, index, word, start, end}}; index counts [CLS]; start/end are
     * character offsets (code points, as Python counts) into the text.
     */
    @JsonPropertyOrder({"entity", "score", "index", "word", "start", "end"})
    public record TokenEntity(String entity, float score, int index, String word, Integer start, Integer end)
            implements Entity {
    }

    /** A group of tokens or words: HF's {@code {entity_group, score, word, start, end}}. */
    @JsonPropertyOrder({"entity_group", "score", "word", "start", "end"})
    public record EntityGroup(@JsonProperty("entity_group") String entityGroup, float score, String word,
                              Integer start, Integer end) implements Entity {
    }

    /** A token before aggregation (HF's pre_entity): its label distribution and whether it continues a word. */
    private record PreEntity(String word, float[] scores, int start, int end, int index, boolean isSubword) {
    }

    /** A token or word with its chosen label, before grouping. */
    private record Labelled(String entity, float score, int index, String word, int start, int end, List<String> tokens) {
    }

    private final boolean wordPiece;

    TokenClassificationPipeline(Path dir, PreTrainedModel model, Tokenizer tokenizer) {
        super("token-classification", dir, model, tokenizer);
        this.wordPiece = isWordPiece(tokenizer);
    }

    /** True for WordPiece ("##" continuation) tokenizers: HF's fast path then has a word-aware subword rule. */
    private static boolean isWordPiece(Tokenizer t) {
        if (t instanceof HfTokenizer h) {
            return h.kind().contains("WordPiece");
        }
        return t.vocab().keySet().stream().anyMatch(s -> s.startsWith("##"));
    }

    /** The typed call: the entities of one text with HF's default options (no aggregation). */
    public List<Entity> apply(String text) {
        return predict(text, Options.defaults());
    }

    /** The entities of one text. */
    public List<Entity> predict(String text, Options options) {
        return predictAll(List.of(text), options).getFirst();
    }

    /**
     * The entities of every text, {@link #batchSize()} windows per forward pass (texts of similar length together;
     * each text's entities equal those it gives alone). With a stride, each text runs as HF's overlapping windows
     * and their entities are merged (HF's aggregate_overlapping_entities); without, a text longer than the model's
     * maximum length is cut there, as HF does, and a WARNING says so once per pipeline.
     */
    public List<List<Entity>> predictAll(List<String> texts, Options options) {
        List<Integer> windowsPerText = new ArrayList<>();
        List<Encoding> flat = new ArrayList<>();
        Map<Encoding, String> textOf = new IdentityHashMap<>();
        for (String text : texts) {
            List<Encoding> w = windows(text, options);
            windowsPerText.add(w.size());
            flat.addAll(w);
            w.forEach(enc -> textOf.put(enc, text));
        }
        // logits: [B, T', labels]; each window's entities are read while its batch's output is at hand
        List<List<Entity>> perWindow = forwardEach(flat,
                (out, row, enc) -> entities(textOf.get(enc), enc, out.logits().select(0, row), options));
        List<List<Entity>> result = new ArrayList<>();
        int next = 0;
        for (int n : windowsPerText) {
            List<Entity> all = new ArrayList<>();
            for (int k = 0; k < n; k++) {
                all.addAll(perWindow.get(next++));
            }
            result.add(n > 1 ? aggregateOverlappingEntities(all) : all);
        }
        return result;
    }

    private volatile boolean warnedCut;

    /** The encodings a text runs as: one, cut at the model's length, or HF's overlapping windows with a stride. */
    List<Encoding> windows(String text, Options options) {
        Integer max = cutLength(truncationLength());   // HF: truncation=True at model_max_length
        if (options.stride() == null || max == null) {
            Encoding enc = tokenizer().encode(text, encodeOptions(truncationLength()));
            if (max != null && !warnedCut && enc.length() == max
                    && tokenizer().encode(text).length() > max) {
                warnedCut = true;
                System.getLogger(TokenClassificationPipeline.class.getName()).log(System.Logger.Level.WARNING,
                        "a text longer than " + max + " tokens was cut there, as Hugging Face's pipeline does;"
                                + " a stride (--stride N) labels all of it");
            }
            return List.of(enc);
        }
        int special = tokenizer().numSpecialTokensToAdd(false);
        if (options.stride() >= max - special) {
            throw new PipelineException("`stride` (" + options.stride() + ") must be less than the window length "
                    + max + " minus the " + special + " special tokens");
        }
        EncodeOptions eo = EncodeOptions.defaults().withMaxLength(max).withTruncation(TruncationStrategy.LONGEST_FIRST)
                .withStride(options.stride()).withReturnOverflowing(true);
        Encoding first = tokenizer().encode(text, eo);
        List<Encoding> all = new ArrayList<>();
        all.add(first);
        all.addAll(first.overflowing());
        return all;
    }

    /**
     * HF's aggregate_overlapping_entities: sorted by start; of entities that overlap the one kept so far, the
     * longer wins, then the higher score.
     */
    static List<Entity> aggregateOverlappingEntities(List<Entity> entities) {
        if (entities.isEmpty()) {
            return entities;
        }
        List<Entity> sorted = new ArrayList<>(entities);
        sorted.sort(Comparator.comparingInt(Entity::start)); // stable, like Python's sorted
        List<Entity> out = new ArrayList<>();
        Entity previous = sorted.getFirst();
        for (Entity e : sorted) {
            if (previous.start() <= e.start() && e.start() < previous.end()) {
                int length = e.end() - e.start();
                int previousLength = previous.end() - previous.start();
                if (length > previousLength || (length == previousLength && e.score() > previous.score())) {
                    previous = e;
                }
            } else {
                out.add(previous);
                previous = e;
            }
        }
        out.add(previous);
        return out;
    }

    /** The entities of one text from its encoding and the model's logits for it, [T, labels]. */
    public List<Entity> entities(String text, Encoding enc, Tensor logits, Options options) {
        Tokenizer tok = tokenizer();
        int[] ids = enc.ids();
        int[] special = enc.specialTokensMask();
        int[] starts = enc.startOffsets();
        int[] ends = enc.endOffsets();
        int unk = tok.unkTokenId();

        // gather_pre_entities: special tokens skipped; subwords found from the offsets.
        List<PreEntity> pre = new ArrayList<>();
        for (int i = 0; i < ids.length; i++) {
            if (special[i] != 0) {
                continue;
            }
            float[] scores = Scores.softmax(logits.select(0, i).toFloatArray());
            String word = tok.idToToken(ids[i]);
            String wordRef = text.substring(starts[i], ends[i]);
            boolean isSubword;
            if (wordPiece) {
                // A continuation piece ("##ik") is longer than the text it covers.
                isSubword = word.codePointCount(0, word.length()) != wordRef.codePointCount(0, wordRef.length());
            } else {
                // HF's fallback heuristic for tokenizers without a continuation prefix (byte-level BPE).
                isSubword = starts[i] > 0 && !text.substring(starts[i] - 1, Math.min(text.length(), starts[i] + 1)).contains(" ");
            }
            if (ids[i] == unk) {
                word = wordRef;
                isSubword = false;
            }
            pre.add(new PreEntity(word, scores, starts[i], ends[i], i, isSubword));
        }

        Map<Integer, String> id2label = model().config().common().id2label();
        AggregationStrategy strategy = options.aggregationStrategy();
        List<Labelled> labelled = new ArrayList<>();
        if (strategy == AggregationStrategy.NONE || strategy == AggregationStrategy.SIMPLE) {
            for (PreEntity p : pre) {
                int best = Scores.argmax(p.scores());
                labelled.add(new Labelled(id2label.get(best), p.scores()[best], p.index(), p.word(), p.start(), p.end(),
                        List.of(p.word())));
            }
        } else {
            labelled = aggregateWords(pre, strategy, id2label);
        }

        List<Entity> out = new ArrayList<>();
        if (strategy == AggregationStrategy.NONE) {
            for (Labelled l : labelled) {
                out.add(new TokenEntity(l.entity(), l.score(), l.index(), l.word(), cp(text, l.start()), cp(text, l.end())));
            }
        } else {
            out.addAll(groupEntities(labelled, text));
        }
        // Filtered after grouping, as HF does (an "O" run forms a group that is then dropped).
        out.removeIf(e -> options.ignoreLabels().contains(e instanceof TokenEntity t ? t.entity() : ((EntityGroup) e).entityGroup()));
        return out;
    }

    /** HF's return value for one text: the list of entities. */
    public List<Entity> call(String text, Options options) {
        return predict(text, options);
    }

    /** HF's return value for a list of texts: one list per text (a list of one text gives that text's list). */
    public Object call(List<String> texts, Options options) {
        List<List<Entity>> out = predictAll(texts, options);
        return out.size() == 1 ? out.get(0) : out;
    }

    /** HF's aggregate_words: a word is a token followed by its subword tokens. */
    private List<Labelled> aggregateWords(List<PreEntity> pre, AggregationStrategy strategy, Map<Integer, String> id2label) {
        List<Labelled> words = new ArrayList<>();
        List<PreEntity> group = new ArrayList<>();
        for (PreEntity p : pre) {
            if (!group.isEmpty() && !p.isSubword()) {
                words.add(aggregateWord(group, strategy, id2label));
                group = new ArrayList<>();
            }
            group.add(p);
        }
        if (!group.isEmpty()) {
            words.add(aggregateWord(group, strategy, id2label));
        }
        return words;
    }

    private Labelled aggregateWord(List<PreEntity> pieces, AggregationStrategy strategy, Map<Integer, String> id2label) {
        float[] scores;
        switch (strategy) {
            case FIRST -> scores = pieces.get(0).scores();
            case MAX -> {
                // The piece whose best label is most certain decides (first one on ties, like Python's max).
                PreEntity best = pieces.get(0);
                for (PreEntity p : pieces) {
                    if (p.scores()[Scores.argmax(p.scores())] > best.scores()[Scores.argmax(best.scores())]) {
                        best = p;
                    }
                }
                scores = best.scores();
            }
            case AVERAGE -> {
                int n = pieces.get(0).scores().length;
                scores = new float[n];
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (PreEntity p : pieces) {
                        sum += p.scores()[j];
                    }
                    scores[j] = (float) (sum / pieces.size());
                }
            }
            default -> throw new IllegalStateException("not a word strategy: " + strategy);
        }
        int idx = Scores.argmax(scores);
        List<String> tokens = pieces.stream().map(PreEntity::word).toList();
        return new Labelled(id2label.get(idx), scores[idx], pieces.get(0).index(), null,
                pieces.get(0).start(), pieces.get(pieces.size() - 1).end(), tokens);
    }

    /** HF's group_entities: a B- tag or a change of tag starts a new group. */
    private List<EntityGroup> groupEntities(List<Labelled> entities, String text) {
        List<EntityGroup> groups = new ArrayList<>();
        List<Labelled> current = new ArrayList<>();
        for (Labelled e : entities) {
            if (!current.isEmpty()) {
                String[] bt = tag(e.entity());
                String[] last = tag(current.get(current.size() - 1).entity());
                if (!(bt[1].equals(last[1]) && !bt[0].equals("B"))) {
                    groups.add(group(current, text));
                    current = new ArrayList<>();
                }
            }
            current.add(e);
        }
        if (!current.isEmpty()) {
            groups.add(group(current, text));
        }
        return groups;
    }

    private EntityGroup group(List<Labelled> members, String text) {
        String label = members.get(0).entity();
        String entity = label.substring(label.lastIndexOf('-') + 1); // HF: entity.split("-")[-1]
        double sum = 0;
        List<String> tokens = new ArrayList<>();
        for (Labelled m : members) {
            sum += m.score();
            tokens.addAll(m.tokens());
        }
        float score = (float) (sum / members.size());
        return new EntityGroup(entity, score, tokensToString(tokens), cp(text, members.get(0).start()),
                cp(text, members.get(members.size() - 1).end()));
    }

    /** HF's get_tag: ("B"|"I", tag); a label without a B-/I- prefix counts as a continuation. */
    private static String[] tag(String label) {
        if (label.startsWith("B-")) {
            return new String[] {"B", label.substring(2)};
        }
        if (label.startsWith("I-")) {
            return new String[] {"I", label.substring(2)};
        }
        return new String[] {"I", label};
    }

    /**
     * A fast tokenizer's {@code convert_tokens_to_string}: the WordPiece decoder joins pieces with spaces,
     * glues "##" pieces on, and cleans up spaces before punctuation; byte-level BPE decodes the bytes.
     */
    private String tokensToString(List<String> tokens) {
        if (wordPiece) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < tokens.size(); i++) {
                String t = tokens.get(i);
                if (i > 0) {
                    if (t.startsWith("##")) {
                        t = t.substring(2);
                    } else {
                        sb.append(' ');
                    }
                }
                sb.append(t);
            }
            return HfTokenizer.cleanUpTokenization(sb.toString());
        }
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = tokenizer().tokenToId(tokens.get(i));
        }
        return tokenizer().decode(ids, false, false);
    }

    /** A UTF-16 offset as a code-point offset (Python's string indices). */
    private static int cp(String text, int utf16) {
        return text.codePointCount(0, utf16);
    }
}
