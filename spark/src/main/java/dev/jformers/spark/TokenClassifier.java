package dev.jformers.spark;

import dev.jformers.models.ModelOutput;
import dev.jformers.pipelines.Pipeline;
import dev.jformers.pipelines.TokenClassificationPipeline;
import dev.jformers.pipelines.TokenClassificationPipeline.AggregationStrategy;
import dev.jformers.pipelines.TokenClassificationPipeline.Entity;
import dev.jformers.pipelines.TokenClassificationPipeline.EntityGroup;
import dev.jformers.pipelines.TokenClassificationPipeline.TokenEntity;
import dev.jformers.tokenizers.Encoding;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.List;

/**
 * HF's token-classification (NER) pipeline over a column: the entities of each text as an array of structs with
 * HF's fields — {@code entity, score, index, word, start, end} per token with aggregation "none" (HF's default),
 * {@code entity_group, score, word, start, end} per group with "simple", "first", "average" or "max". Tokens
 * labelled "O" are left out, as in HF.
 */
public class TokenClassifier extends JformersTransformer<TokenClassifier> {
    private static final long serialVersionUID = 1L;

    static final StructType TOKEN = new StructType()
            .add("entity", DataTypes.StringType, true)
            .add("score", DataTypes.FloatType, false)
            .add("index", DataTypes.IntegerType, false)
            .add("word", DataTypes.StringType, true)
            .add("start", DataTypes.IntegerType, true)
            .add("end", DataTypes.IntegerType, true);

    static final StructType GROUP = new StructType()
            .add("entity_group", DataTypes.StringType, true)
            .add("score", DataTypes.FloatType, false)
            .add("word", DataTypes.StringType, true)
            .add("start", DataTypes.IntegerType, true)
            .add("end", DataTypes.IntegerType, true);

    private final Param<String> aggregationStrategy = new Param<>(this, "aggregationStrategy",
            "HF's aggregation_strategy: none, simple, first, average or max",
            ParamValidators.inArray(new String[] {"none", "simple", "first", "average", "max"}));

    public TokenClassifier() {
        this(Identifiable$.MODULE$.randomUID("jformers_TokenClassifier"));
    }

    public TokenClassifier(String uid) {
        super(uid);
        setDefault(outputCol(), "entities");
        setDefault(aggregationStrategy, "none");
    }

    public static MLReader<TokenClassifier> read() {
        return new DefaultParamsReader<>();
    }

    public static TokenClassifier load(String path) {
        return read().load(path);
    }

    public Param<String> aggregationStrategy() {
        return aggregationStrategy;
    }

    /** HF's aggregation_strategy: "none" (default), "simple", "first", "average" or "max". */
    public TokenClassifier setAggregationStrategy(String v) {
        set(aggregationStrategy, v);
        return this;
    }

    public String getAggregationStrategy() {
        return getOrDefault(aggregationStrategy);
    }

    @Override
    String task() {
        return "token-classification";
    }

    @Override
    TextFunction textFunction() {
        return new Entities(modelKey(), getMaxLength(), AggregationStrategy.parse(getAggregationStrategy()));
    }

    static final class Entities extends TextFunction {
        private static final long serialVersionUID = 1L;
        private final AggregationStrategy strategy;

        Entities(ExecutorModels.Key key, int maxLength, AggregationStrategy strategy) {
            super(key, maxLength);
            this.strategy = strategy;
        }

        @Override
        DataType outputType() {
            return DataTypes.createArrayType(strategy == AggregationStrategy.NONE ? TOKEN : GROUP, false);
        }

        @Override
        Object result(Pipeline p, String text, Encoding enc, ModelOutput out, int row) {
            TokenClassificationPipeline ner = (TokenClassificationPipeline) p;
            // logits: [B, T, labels]; the padded positions past enc.length() are never read
            List<Entity> entities = ner.entities(text, enc, out.logits().select(0, row),
                    TokenClassificationPipeline.Options.defaults().withAggregationStrategy(strategy));
            List<Row> rows = new ArrayList<>();
            for (Entity e : entities) {
                rows.add(switch (e) {
                    case TokenEntity t -> RowFactory.create(t.entity(), t.score(), t.index(), t.word(), t.start(), t.end());
                    case EntityGroup g -> RowFactory.create(g.entityGroup(), g.score(), g.word(), g.start(), g.end());
                });
            }
            return Rows.seq(rows);
        }
    }
}
