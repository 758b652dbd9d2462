package dev.jformers.spark;

import dev.jformers.models.ModelOutput;
import dev.jformers.pipelines.FeatureExtractionPipeline;
import dev.jformers.pipelines.FeatureExtractionPipeline.Pooling;
import dev.jformers.pipelines.Pipeline;
import dev.jformers.pipelines.Pipelines;
import dev.jformers.tokenizers.Encoding;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * One vector per text (sentence-transformers' {@code encode}): the base model's token vectors pooled (mean over the
 * attention mask, or [CLS]) and L2-normalised, as an ML {@code Vector} (default) or {@code array<float>}.
 * The default model is all-MiniLM-L6-v2 (mean pooling, normalised).
 *
 * <pre>{@code
 * Dataset<Row> out = new SentenceEmbedder().setModel("/models/all-MiniLM-L6-v2")
 *         .setInputCol("text").setOutputCol("embedding").transform(df);
 * }</pre>
 */
public class SentenceEmbedder extends JformersTransformer<SentenceEmbedder> {
    private static final long serialVersionUID = 1L;

    private final Param<String> pooling = new Param<>(this, "pooling", "mean or cls",
            ParamValidators.inArray(new String[] {"mean", "cls"}));
    private final BooleanParam normalize = new BooleanParam(this, "normalize", "L2-normalise the vectors");
    private final Param<String> outputType = new Param<>(this, "outputType",
            "vector (an ML Vector of doubles) or array (array<float>)",
            ParamValidators.inArray(new String[] {"vector", "array"}));

    public SentenceEmbedder() {
        this(Identifiable$.MODULE$.randomUID("jformers_SentenceEmbedder"));
    }

    public SentenceEmbedder(String uid) {
        super(uid);
        setDefault(model(), Pipelines.defaultModel("feature-extraction"));
        setDefault(outputCol(), "embedding");
        setDefault(pooling, "mean");
        setDefault(normalize, true);
        setDefault(outputType, "vector");
    }

    public static MLReader<SentenceEmbedder> read() {
        return new DefaultParamsReader<>();
    }

    public static SentenceEmbedder load(String path) {
        return read().load(path);
    }

    public Param<String> pooling() {
        return pooling;
    }

    public BooleanParam normalize() {
        return normalize;
    }

    public Param<String> outputType() {
        return outputType;
    }

    /** "mean" (default) or "cls". */
    public SentenceEmbedder setPooling(String v) {
        set(pooling, v);
        return this;
    }

    public SentenceEmbedder setNormalize(boolean v) {
        set(normalize, v);
        return this;
    }

    /** "vector" (default: an ML Vector) or "array" (array&lt;float&gt;). */
    public SentenceEmbedder setOutputType(String v) {
        set(outputType, v);
        return this;
    }

    public String getPooling() {
        return getOrDefault(pooling);
    }

    public boolean getNormalize() {
        return (Boolean) getOrDefault(normalize);
    }

    public String getOutputType() {
        return getOrDefault(outputType);
    }

    @Override
    String task() {
        return "feature-extraction";
    }

    @Override
    TextFunction textFunction() {
        return new Embed(modelKey(), getMaxLength(), Pooling.parse(getPooling()), getNormalize(),
                getOutputType().equals("vector"));
    }

    static final class Embed extends TextFunction {
        private static final long serialVersionUID = 1L;
        private final Pooling pooling;
        private final boolean normalize;
        private final boolean vector;

        Embed(ExecutorModels.Key key, int maxLength, Pooling pooling, boolean normalize, boolean vector) {
            super(key, maxLength);
            this.pooling = pooling;
            this.normalize = normalize;
            this.vector = vector;
        }

        @Override
        DataType outputType() {
            return vector ? SQLDataTypes.VectorType() : DataTypes.createArrayType(DataTypes.FloatType, false);
        }

        @Override
        Integer defaultMaxLength(Pipeline p) {
            return ((FeatureExtractionPipeline) p).sentenceTruncationLength();
        }

        @Override
        Object result(Pipeline p, String text, Encoding enc, ModelOutput out, int row) {
            // last_hidden_state: [B, T, H]; this text's first enc.length() positions are its tokens
            float[] flat = out.lastHiddenState().select(0, row).toFloatArray();
            int h = out.lastHiddenState().dim(2);
            float[][] tokens = new float[enc.length()][h];
            for (int i = 0; i < tokens.length; i++) {
                System.arraycopy(flat, i * h, tokens[i], 0, h);
            }
            float[] v = FeatureExtractionPipeline.pool(tokens, enc.attentionMask(), pooling, normalize);
            if (!vector) {
                return v;
            }
            double[] d = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                d[i] = v[i];
            }
            return Vectors.dense(d);
        }
    }
}
