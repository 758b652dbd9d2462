package dev.jformers.models.roberta;

import dev.jformers.models.ModelWeights;
import dev.jformers.models.bert.BertConfig;
import dev.jformers.models.bert.BertModel;

/**
 * HF {@code RobertaModel}: BERT's architecture with RoBERTa's position ids (real tokens count
 * from pad+1, see {@link dev.jformers.models.bert.BertEmbeddings}) and one token type.
 * DistilRoBERTa is this class with 6 layers.
 */
public final class RobertaModel extends BertModel {
    public RobertaModel(BertConfig config, ModelWeights w, boolean addPoolingLayer) {
        super(config, w, addPoolingLayer);
    }
}
