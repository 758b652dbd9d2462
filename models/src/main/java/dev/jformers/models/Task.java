package dev.jformers.models;

/** What an Auto class builds; each maps a {@code model_type} to one concrete class. */
public enum Task {
    BASE("AutoModel"),
    MASKED_LM("AutoModelForMaskedLM"),
    /** The legacy {@code AutoModelWithLMHead}: masked LM for encoders, causal LM for GPT-2. */
    WITH_LM_HEAD("AutoModelWithLMHead"),
    CAUSAL_LM("AutoModelForCausalLM"),
    PRETRAINING("AutoModelForPreTraining"),
    SEQUENCE_CLASSIFICATION("AutoModelForSequenceClassification"),
    TOKEN_CLASSIFICATION("AutoModelForTokenClassification"),
    QUESTION_ANSWERING("AutoModelForQuestionAnswering"),
    MULTIPLE_CHOICE("AutoModelForMultipleChoice"),
    NEXT_SENTENCE_PREDICTION("AutoModelForNextSentencePrediction");

    private final String autoClass;

    Task(String autoClass) {
        this.autoClass = autoClass;
    }

    /** The Hugging Face Auto class name, e.g. "AutoModelForMaskedLM". */
    public String autoClass() {
        return autoClass;
    }

    /** The task whose Auto class is called {@code name}; null when none is. */
    public static Task fromAutoClass(String name) {
        for (Task t : values()) {
            if (t.autoClass.equals(name)) {
                return t;
            }
        }
        return null;
    }
}
