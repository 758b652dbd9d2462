package dev.jformers.models;

import dev.jformers.models.bert.BertConfig;
import dev.jformers.models.bert.BertForMaskedLM;
import dev.jformers.models.bert.BertForMultipleChoice;
import dev.jformers.models.bert.BertForNextSentencePrediction;
import dev.jformers.models.bert.BertForPreTraining;
import dev.jformers.models.bert.BertForQuestionAnswering;
import dev.jformers.models.bert.BertForSequenceClassification;
import dev.jformers.models.bert.BertForTokenClassification;
import dev.jformers.models.bert.BertLMHeadModel;
import dev.jformers.models.bert.BertModel;
import dev.jformers.models.distilbert.DistilBertConfig;
import dev.jformers.models.distilbert.DistilBertForMaskedLM;
import dev.jformers.models.distilbert.DistilBertForMultipleChoice;
import dev.jformers.models.distilbert.DistilBertForQuestionAnswering;
import dev.jformers.models.distilbert.DistilBertForSequenceClassification;
import dev.jformers.models.distilbert.DistilBertForTokenClassification;
import dev.jformers.models.distilbert.DistilBertModel;
import dev.jformers.models.gpt2.GPT2Config;
import dev.jformers.models.gpt2.GPT2ForSequenceClassification;
import dev.jformers.models.gpt2.GPT2ForTokenClassification;
import dev.jformers.models.gpt2.GPT2LMHeadModel;
import dev.jformers.models.gpt2.GPT2Model;
import dev.jformers.models.roberta.RobertaForCausalLM;
import dev.jformers.models.roberta.RobertaForMaskedLM;
import dev.jformers.models.roberta.RobertaForMultipleChoice;
import dev.jformers.models.roberta.RobertaForQuestionAnswering;
import dev.jformers.models.roberta.RobertaForSequenceClassification;
import dev.jformers.models.roberta.RobertaForTokenClassification;
import dev.jformers.models.roberta.RobertaModel;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * Every model class jformers has, by Hugging Face class name, and which one each Auto class
 * picks for each {@code model_type} — the tables of HF's {@code modeling_auto.py}, written out.
 */
final class ModelRegistry {
    private ModelRegistry() {
    }

    /** Builds a model from its config and its weights (seen from the checkpoint's root). */
    private interface Factory extends BiFunction<PretrainedConfig, ModelWeights, PreTrainedModel> {
    }

    private static final Map<String, Factory> CLASSES = new LinkedHashMap<>();
    /** Base-model prefix of each model_type, as HF's {@code base_model_prefix}. */
    static final Map<String, String> BASE_PREFIX = Map.of(
            "bert", "bert", "roberta", "roberta", "distilbert", "distilbert", "gpt2", "transformer");

    static {
        // Base models take the pooler when the checkpoint has one (masked-LM checkpoints don't):
        // HF would initialise it randomly; here pooler_output is then simply absent.
        CLASSES.put("BertModel", (c, w) -> new BertModel((BertConfig) c, w, hasPooler(w)));
        CLASSES.put("BertForMaskedLM", (c, w) -> new BertForMaskedLM((BertConfig) c, w));
        CLASSES.put("BertLMHeadModel", (c, w) -> new BertLMHeadModel((BertConfig) c, w));
        CLASSES.put("BertForPreTraining", (c, w) -> new BertForPreTraining((BertConfig) c, w));
        CLASSES.put("BertForNextSentencePrediction", (c, w) -> new BertForNextSentencePrediction((BertConfig) c, w));
        CLASSES.put("BertForSequenceClassification", (c, w) -> new BertForSequenceClassification((BertConfig) c, w));
        CLASSES.put("BertForTokenClassification", (c, w) -> new BertForTokenClassification((BertConfig) c, w));
        CLASSES.put("BertForQuestionAnswering", (c, w) -> new BertForQuestionAnswering((BertConfig) c, w));
        CLASSES.put("BertForMultipleChoice", (c, w) -> new BertForMultipleChoice((BertConfig) c, w));

        CLASSES.put("RobertaModel", (c, w) -> new RobertaModel((BertConfig) c, w, hasPooler(w)));
        CLASSES.put("RobertaForMaskedLM", (c, w) -> new RobertaForMaskedLM((BertConfig) c, w));
        CLASSES.put("RobertaForCausalLM", (c, w) -> new RobertaForCausalLM((BertConfig) c, w));
        CLASSES.put("RobertaForSequenceClassification", (c, w) -> new RobertaForSequenceClassification((BertConfig) c, w));
        CLASSES.put("RobertaForTokenClassification", (c, w) -> new RobertaForTokenClassification((BertConfig) c, w));
        CLASSES.put("RobertaForQuestionAnswering", (c, w) -> new RobertaForQuestionAnswering((BertConfig) c, w));
        CLASSES.put("RobertaForMultipleChoice", (c, w) -> new RobertaForMultipleChoice((BertConfig) c, w));

        CLASSES.put("DistilBertModel", (c, w) -> new DistilBertModel((DistilBertConfig) c, w));
        CLASSES.put("DistilBertForMaskedLM", (c, w) -> new DistilBertForMaskedLM((DistilBertConfig) c, w));
        CLASSES.put("DistilBertForSequenceClassification", (c, w) -> new DistilBertForSequenceClassification((DistilBertConfig) c, w));
        CLASSES.put("DistilBertForTokenClassification", (c, w) -> new DistilBertForTokenClassification((DistilBertConfig) c, w));
        CLASSES.put("DistilBertForQuestionAnswering", (c, w) -> new DistilBertForQuestionAnswering((DistilBertConfig) c, w));
        CLASSES.put("DistilBertForMultipleChoice", (c, w) -> new DistilBertForMultipleChoice((DistilBertConfig) c, w));

        CLASSES.put("GPT2Model", (c, w) -> new GPT2Model((GPT2Config) c, w));
        CLASSES.put("GPT2LMHeadModel", (c, w) -> new GPT2LMHeadModel((GPT2Config) c, w));
        CLASSES.put("GPT2ForSequenceClassification", (c, w) -> new GPT2ForSequenceClassification((GPT2Config) c, w));
        CLASSES.put("GPT2ForTokenClassification", (c, w) -> new GPT2ForTokenClassification((GPT2Config) c, w));
    }

    private static boolean hasPooler(ModelWeights w) {
        boolean has = w.has("pooler.dense.weight");
        if (!has) {
            System.getLogger("dev.jformers.models").log(System.Logger.Level.DEBUG,
                    "the checkpoint has no pooler weights: the model gives no pooler_output");
        }
        return has;
    }

    /** The class an Auto class picks for a model type; null when HF has none either. */
    static String classFor(Task task, String modelType) {
        String prefix = switch (modelType) {
            case "bert" -> "Bert";
            case "roberta" -> "Roberta";
            case "distilbert" -> "DistilBert";
            case "gpt2" -> "GPT2";
            default -> null;
        };
        if (prefix == null) {
            return null;
        }
        boolean gpt2 = modelType.equals("gpt2");
        String name = switch (task) {
            case BASE -> prefix + "Model";
            case MASKED_LM -> gpt2 ? null : prefix + "ForMaskedLM";
            case WITH_LM_HEAD -> gpt2 ? "GPT2LMHeadModel" : prefix + "ForMaskedLM";
            case CAUSAL_LM -> switch (modelType) {
                case "gpt2" -> "GPT2LMHeadModel";
                case "bert" -> "BertLMHeadModel";
                case "roberta" -> "RobertaForCausalLM";
                default -> null;
            };
            case PRETRAINING -> switch (modelType) {
                case "gpt2" -> "GPT2LMHeadModel";
                case "bert" -> "BertForPreTraining";
                default -> prefix + "ForMaskedLM";
            };
            case SEQUENCE_CLASSIFICATION -> prefix + "ForSequenceClassification";
            case TOKEN_CLASSIFICATION -> prefix + "ForTokenClassification";
            case QUESTION_ANSWERING -> gpt2 ? null : prefix + "ForQuestionAnswering";
            case MULTIPLE_CHOICE -> gpt2 ? null : prefix + "ForMultipleChoice";
            case NEXT_SENTENCE_PREDICTION -> modelType.equals("bert") ? "BertForNextSentencePrediction" : null;
        };
        return name;
    }

    static boolean has(String className) {
        return CLASSES.containsKey(className);
    }

    static PreTrainedModel create(String className, PretrainedConfig config, ModelWeights weights) {
        Factory f = CLASSES.get(className);
        if (f == null) {
            throw new ConfigException("unknown model class '" + className + "' (known: " + CLASSES.keySet() + ")");
        }
        return f.apply(config, weights);
    }
}
