package dev.jformers.spark;

import dev.jformers.models.ModelOutput;
import dev.jformers.pipelines.Pipeline;
import dev.jformers.pipelines.TextClassificationPipeline;
import dev.jformers.pipelines.TextClassificationPipeline.LabelScore;
import dev.jformers.tokenizers.Encoding;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * HF's text-classification pipeline over a column: {@code struct<label: string, score: float>} for the best label,
 * or with {@code allScores} every label, best first, as {@code array<struct<label, score>>} (HF's {@code top_k=None}).
 * Scores are softmax, or sigmoid for multi-label and one-label models, as the pipeline decides.
 */
public class TextClassifier extends JformersTransformer<TextClassifier> {
    private static final long serialVersionUID = 1L;

    /** HF's {@code {label, score}}. */
    static final StructType LABEL_SCORE = new StructType()
            .add("label", DataTypes.StringType, true)
            .add("score", DataTypes.FloatType, false);

    private final BooleanParam allScores = new BooleanParam(this, "allScores",
            "every label with its score, best first, instead of the best label");

    public TextClassifier() {
        this(Identifiable$.MODULE$.randomUID("jformers_TextClassifier"));
    }

    public TextClassifier(String uid) {
        super(uid);
        setDefault(outputCol(), "classification");
        setDefault(allScores, false);
    }

    public static MLReader<TextClassifier> read() {
        return new DefaultParamsReader<>();
    }

    public static TextClassifier load(String path) {
        return read().load(path);
    }

    public BooleanParam allScores() {
        return allScores;
    }

    public TextClassifier setAllScores(boolean v) {
        set(allScores, v);
        return this;
    }

    public boolean getAllScores() {
        return (Boolean) getOrDefault(allScores);
    }

    @Override
    String task() {
        return "text-classification";
    }

    @Override
    TextFunction textFunction() {
        return new Classify(modelKey(), getMaxLength(), getAllScores());
    }

    static final class Classify extends TextFunction {
        private static final long serialVersionUID = 1L;
        private final boolean all;

        Classify(ExecutorModels.Key key, int maxLength, boolean all) {
            super(key, maxLength);
            this.all = all;
        }

        @Override
        DataType outputType() {
            return all ? DataTypes.createArrayType(LABEL_SCORE, false) : LABEL_SCORE;
        }

        @Override
        Object result(Pipeline p, String text, Encoding enc, ModelOutput out, int row) {
            TextClassificationPipeline tc = (TextClassificationPipeline) p;
            // logits: [B, labels]
            List<LabelScore> scores = new ArrayList<>(tc.scores(out.logits().select(0, row).toFloatArray(), null));
            scores.sort(Comparator.comparingDouble((LabelScore l) -> l.score()).reversed()); // stable, as the pipeline
            List<Row> rows = scores.stream().map(l -> RowFactory.create(l.label(), l.score())).toList();
            return all ? Rows.seq(rows) : rows.get(0);
        }
    }
}
