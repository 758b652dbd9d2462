package dev.jformers.pipelines;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.jformers.core.Tensor;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.tokenizers.EncodeOptions;
import dev.jformers.tokenizers.Encoding;
import dev.jformers.tokenizers.Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * HF's {@code FillMaskPipeline}: the most likely tokens for each mask token of a text.
 *
 * <pre>{@code
 * try (var fill = Pipelines.fillMask("bert-base-uncased")) {
 *     List<FillMaskPipeline.Candidate> c = fill.fill("Paris is the [MASK] of France.", FillMaskPipeline.Options.defaults()).get(0);
 * }
 * }</pre>
 * Scores are the softmax over the whole vocabulary at the mask position.
 */
public final class FillMaskPipeline extends Pipeline {
    private static final System.Logger LOG = System.getLogger(FillMaskPipeline.class.getName());

    /**
     * @param topK    how many candidates per mask (HF's {@code top_k}, default 5)
     * @param targets restrict the candidates to these words (HF's {@code targets}); null: the whole vocabulary
     */
    public record Options(int topK, List<String> targets) {
        public Options {
            if (topK < 1) {
                throw new PipelineException("top_k must be >= 1, got " + topK);
            }
            targets = targets == null ? null : List.copyOf(targets);
        }

        public static Options defaults() {
            return new Options(5, null);
        }

        public Options withTopK(int k) {
            return new Options(k, targets);
        }

        public Options withTargets(List<String> t) {
            return new Options(topK, t);
        }
    }

    /** One candidate: HF's {@code {score, token, token_str, sequence}}. */
    @JsonPropertyOrder({"score", "token", "token_str", "sequence"})
    public record Candidate(float score, int token, @JsonProperty("token_str") String tokenStr, String sequence) {
    }

    FillMaskPipeline(Path dir, PreTrainedModel model, Tokenizer tokenizer) {
        super("fill-mask", dir, model, tokenizer);
        if (tokenizer.maskTokenId() < 0) {
            throw new PipelineException("The tokenizer does not define a `mask_token`.");
        }
    }

    /** The candidates for each mask token of {@code text}, in text order. */
    public List<List<Candidate>> fill(String text, Options options) {
        return fillAll(List.of(text), options).getFirst();
    }

    /**
     * {@link #fill} for every text, {@link #batchSize()} texts per forward pass (results equal those of one text at
     * a time).
     */
    public List<List<List<Candidate>>> fillAll(List<String> texts, Options options) {
        Tokenizer tok = tokenizer();
        int[] targetIds = options.targets() == null ? null : targetIds(options.targets());
        List<Encoding> encodings = new ArrayList<>();
        for (String text : texts) {
            Encoding enc = tok.encode(text, encodeOptions(null));
            if (Arrays.stream(enc.ids()).noneMatch(id -> id == tok.maskTokenId())) {
                throw new PipelineException("No mask_token (" + tok.maskToken() + ") found on the input");
            }
            encodings.add(enc);
        }
        return forwardEach(encodings, (out, row, enc) -> candidates(out.logits().select(0, row), enc, targetIds, options));
    }

    /** The text's candidates from its logits [T', vocab] (T' ≥ its length: padding follows). */
    private List<List<Candidate>> candidates(Tensor logits, Encoding enc, int[] targetIds, Options options) {
        Tokenizer tok = tokenizer();
        int[] ids = enc.ids();
        int maskId = tok.maskTokenId();
        List<Integer> maskPositions = new ArrayList<>();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == maskId) {
                maskPositions.add(i);
            }
        }
        // With targets, top_k is capped at their number (HF).
        int topK = targetIds != null ? Math.min(options.topK(), targetIds.length) : options.topK();
        boolean singleMask = maskPositions.size() == 1;
        int padId = tok.padTokenId();
        List<List<Candidate>> result = new ArrayList<>();
        for (int pos : maskPositions) {
            float[] probs = Scores.softmax(logits.select(0, pos).toFloatArray());
            float[] ranked = probs;
            if (targetIds != null) {
                ranked = new float[targetIds.length];
                for (int i = 0; i < targetIds.length; i++) {
                    ranked[i] = probs[targetIds[i]];
                }
            }
            List<Candidate> row = new ArrayList<>();
            for (int k : Scores.topK(ranked, topK)) {
                int id = targetIds != null ? targetIds[k] : k;
                int[] filled = ids.clone();
                filled[pos] = id;
                // HF drops padding, and keeps special tokens when there are several masks (so the other
                // masks stay visible).
                int[] kept = Arrays.stream(filled).filter(t -> t != padId).toArray();
                String sequence = tok.decode(kept, singleMask);
                row.add(new Candidate(ranked[k], id, tok.decode(new int[] {id}, false), sequence));
            }
            result.add(row);
        }
        return result;
    }

    /** The typed call: the candidates (top 5) for the text's mask; a text with several masks goes to {@link #fill}. */
    public List<Candidate> apply(String text) {
        return single(fill(text, Options.defaults()));
    }

    /** {@link #apply(String)} for every text, batched. */
    public List<List<Candidate>> apply(List<String> texts) {
        return fillAll(texts, Options.defaults()).stream().map(FillMaskPipeline::single).toList();
    }

    private static List<Candidate> single(List<List<Candidate>> perMask) {
        if (perMask.size() != 1) {
            throw new PipelineException("the text has " + perMask.size() + " mask tokens; fill() gives candidates for each");
        }
        return perMask.getFirst();
    }

    /**
     * HF's return value for one text: the list of candidates when the text has one mask, a list of such lists
     * (one per mask) when it has several.
     */
    public Object call(String text, Options options) {
        List<List<Candidate>> r = fill(text, options);
        return r.size() == 1 ? r.get(0) : r;
    }

    /** HF's return value for a list of texts: one result per text (a list of one text gives that text's result). */
    public Object call(List<String> texts, Options options) {
        List<Object> out = new ArrayList<>();
        for (List<List<Candidate>> r : fillAll(texts, options)) {
            out.add(r.size() == 1 ? r.get(0) : r);
        }
        return out.size() == 1 ? out.get(0) : out;
    }

    /**
     * HF's {@code get_target_ids}: a target that is a vocabulary entry is used as is; otherwise it is tokenized
     * and its FIRST token is used (with a warning); duplicates are dropped.
     */
    int[] targetIds(List<String> targets) {
        Tokenizer tok = tokenizer();
        Set<Integer> ids = new LinkedHashSet<>();
        for (String target : targets) {
            int id = tok.tokenToId(target);
            if (id < 0) {
                int[] pieces = tok.encode(target, EncodeOptions.defaults().withAddSpecialTokens(false).withTruncation(1)).ids();
                if (pieces.length == 0) {
                    LOG.log(System.Logger.Level.WARNING, "The specified target token `" + target
                            + "` does not exist in the model vocabulary. We cannot replace it with anything meaningful, ignoring it");
                    continue;
                }
                id = pieces[0];
                LOG.log(System.Logger.Level.WARNING, "The specified target token `" + target
                        + "` does not exist in the model vocabulary. Replacing with `" + tok.idToToken(id) + "`.");
            }
            ids.add(id);
        }
        if (ids.isEmpty()) {
            throw new PipelineException("At least one target must be provided when passed.");
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }
}
