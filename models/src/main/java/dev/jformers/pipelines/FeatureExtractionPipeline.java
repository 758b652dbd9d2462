package dev.jformers.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jformers.core.JsonErrors;
import dev.jformers.core.ModelFolder;
import dev.jformers.core.Tensor;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.tokenizers.Encoding;
import dev.jformers.tokenizers.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * HF's {@code FeatureExtractionPipeline}: the base model's {@code last_hidden_state}, [1][T][H] per text
 * ([CLS] and [SEP] included), plus what sentence-transformers users want: one vector per text, pooled (mean over
 * the attention mask, or [CLS]) and optionally L2-normalised.
 */
public final class FeatureExtractionPipeline extends Pipeline {

    /** How token vectors become one sentence vector. */
    public enum Pooling {
        /** Mean of the token vectors, weighted by the attention mask (sentence-transformers' default). */
        MEAN,
        /** The first token's vector ([CLS] / {@code <s>}). */
        CLS;

        public static Pooling parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new PipelineException("unknown pooling '" + s + "' (use mean or cls)");
            }
        }
    }

    /**
     * @param truncation cut texts at the model's maximum length (HF's {@code truncation=True}; default off, as in HF;
     *                   sentence embeddings always cut, at sentence-transformers' max_seq_length when the folder
     *                   has a sentence_bert_config.json)
     * @param pooling    null: token embeddings (HF's output); MEAN or CLS: one vector per text
     * @param normalize  L2-normalise pooled vectors
     */
    public record Options(boolean truncation, Pooling pooling, boolean normalize) {
        public static Options defaults() {
            return new Options(false, null, false);
        }

        /** What all-MiniLM-L6-v2 and most sentence-transformers models do: mean pooling, normalised. */
        public static Options sentenceTransformers() {
            return new Options(true, Pooling.MEAN, true);
        }

        public Options withTruncation(boolean v) {
            return new Options(v, pooling, normalize);
        }

        public Options withPooling(Pooling p) {
            return new Options(truncation, p, normalize);
        }

        public Options withNormalize(boolean v) {
            return new Options(truncation, pooling, v);
        }
    }

    /** sentence-transformers' max_seq_length, when the folder says. */
    private final Integer sentenceMaxLength;

    FeatureExtractionPipeline(Path dir, PreTrainedModel model, Tokenizer tokenizer) {
        super("feature-extraction", dir, model, tokenizer);
        this.sentenceMaxLength = readSentenceMaxLength(dir);
    }

    private static Integer readSentenceMaxLength(Path dir) {
        Path f = ModelFolder.require(dir, dir.resolve("sentence_bert_config.json"));
        if (!Files.isRegularFile(f)) {
            return null;
        }
        try {
            JsonNode n = new ObjectMapper().readTree(f.toFile());
            return n.hasNonNull("max_seq_length") ? n.get("max_seq_length").asInt() : null;
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new PipelineException(JsonErrors.message(f, e));
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Where sentence embeddings cut a text, in tokens: the model's maximum length, or sentence-transformers'
     * max_seq_length when the folder has a smaller one; null when neither is known.
     */
    public Integer sentenceTruncationLength() {
        Integer max = truncationLength();
        if (sentenceMaxLength != null) {
            max = max == null ? sentenceMaxLength : Math.min(max, sentenceMaxLength);
        }
        return max;
    }

    /** One text's encoding; {@link #setTruncation} overrides the call's (or sentence embeddings') default cut. */
    private Encoding encode(String text, boolean truncate, boolean sentence) {
        Integer dflt = sentence ? sentenceTruncationLength() : truncate ? truncationLength() : null;
        return tokenizer().encode(text, encodeOptions(dflt));
    }

    /** The first {@code length} token vectors of row {@code row} of hidden states [B, T, H]. */
    private static float[][] rows(Tensor hidden, int row, int length) {
        int h = hidden.dim(2);
        float[] flat = hidden.select(0, row).narrow(0, 0, length).toFloatArray();
        float[][] out = new float[length][h];
        for (int i = 0; i < length; i++) {
            System.arraycopy(flat, i * h, out[i], 0, h);
        }
        return out;
    }

    /** The token vectors of one text, [T][H] (HF's output without the batch axis). */
    public float[][] tokenEmbeddings(String text, boolean truncation) {
        return tokenEmbeddings(List.of(text), truncation).getFirst();
    }

    /** {@link #tokenEmbeddings(String, boolean)} for every text, {@link #batchSize()} texts per forward pass. */
    public List<float[][]> tokenEmbeddings(List<String> texts, boolean truncation) {
        List<Encoding> encodings = texts.stream().map(t -> encode(t, truncation, false)).toList();
        return forwardEach(encodings, (out, row, enc) -> rows(out.lastHiddenState(), row, enc.length()));
    }

    /** One vector for a text: pooled token vectors, L2-normalised when asked. */
    public float[] sentenceEmbedding(String text, Pooling pooling, boolean normalize) {
        return embedAll(List.of(text), pooling, normalize)[0];
    }

    /** The typed call: the text's sentence embedding, mean-pooled and normalised (sentence-transformers' default). */
    public float[] apply(String text) {
        return sentenceEmbedding(text, Pooling.MEAN, true);
    }

    /**
     * One mean-pooled, L2-normalised vector per text (what sentence-transformers' {@code encode(texts)} gives for
     * all-MiniLM-L6-v2 and most such models), {@link #batchSize()} texts per forward pass.
     */
    public float[][] embedAll(List<String> texts) {
        return embedAll(texts, Pooling.MEAN, true);
    }

    /** One vector per text, pooled and optionally normalised, batched; each equals {@link #sentenceEmbedding}'s. */
    public float[][] embedAll(List<String> texts, Pooling pooling, boolean normalize) {
        List<Encoding> encodings = texts.stream().map(t -> encode(t, true, true)).toList();
        return forwardEach(encodings, (out, row, enc) ->
                pool(rows(out.lastHiddenState(), row, enc.length()), enc.attentionMask(), pooling, normalize))
                .toArray(float[][]::new);
    }

    /** One text's token vectors [T][H] pooled into one vector [H] (mean over {@code mask}, or the first token). */
    public static float[] pool(float[][] tokens, int[] mask, Pooling pooling, boolean normalize) {
        int h = tokens.length == 0 ? 0 : tokens[0].length;
        double[] acc = new double[h];
        if (pooling == Pooling.CLS) {
            for (int j = 0; j < h; j++) {
                acc[j] = tokens[0][j];
            }
        } else {
            double count = 0;
            for (int i = 0; i < tokens.length; i++) {
                if (mask[i] == 0) {
                    continue;
                }
                count++;
                for (int j = 0; j < h; j++) {
                    acc[j] += tokens[i][j];
                }
            }
            count = Math.max(count, 1e-9); // sentence-transformers clamps the count the same way
            for (int j = 0; j < h; j++) {
                acc[j] /= count;
            }
        }
        if (normalize) {
            double norm = 0;
            for (double v : acc) {
                norm += v * v;
            }
            norm = Math.max(Math.sqrt(norm), 1e-12); // torch.nn.functional.normalize's eps
            for (int j = 0; j < h; j++) {
                acc[j] /= norm;
            }
        }
        float[] out = new float[h];
        for (int j = 0; j < h; j++) {
            out[j] = (float) acc[j];
        }
        return out;
    }

    /**
     * HF's return value for one text, [1][T][H]; with pooling, the text's vector [H] (as sentence-transformers'
     * {@code encode(str)}).
     */
    public Object call(String text, Options o) {
        if (o.pooling() != null) {
            return sentenceEmbedding(text, o.pooling(), o.normalize());
        }
        return new float[][][] {tokenEmbeddings(text, o.truncation())};
    }

    /** HF's return value for a list of texts: one result per text (each [1][T][H], or [H] with pooling). */
    public List<Object> call(List<String> texts, Options o) {
        List<Object> out = new ArrayList<>();
        if (o.pooling() != null) {
            out.addAll(Arrays.asList(embedAll(texts, o.pooling(), o.normalize())));
        } else {
            for (float[][] tokens : tokenEmbeddings(texts, o.truncation())) {
                out.add(new float[][][] {tokens});
            }
        }
        return out;
    }
}
