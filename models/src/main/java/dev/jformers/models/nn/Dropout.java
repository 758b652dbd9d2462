package dev.jformers.models.nn;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.core.Backend;
import dev.jformers.core.Tensor;
import dev.jformers.models.CommonConfig;

/**
 * {@code nn.Dropout(p)}: the identity at inference (Hugging Face's eval mode); while training on an
 * autograd backend, each element is zeroed with probability p and the others scaled by 1/(1 − p).
 */
public final class Dropout {
    private final Backend backend;
    private final float p;

    public Dropout(Backend backend, double p) {
        this.backend = backend;
        this.p = (float) p;
    }

    /**
     * The probability config.json gives under the first of {@code fields} that is set (a null value falls
     * through, as HF's {@code classifier_dropout = None → hidden_dropout_prob}), else {@code dflt}.
     */
    public static Dropout of(Backend backend, CommonConfig config, double dflt, String... fields) {
        for (String field : fields) {
            JsonNode n = config.json().get(field);
            if (n != null && n.isNumber()) {
                return new Dropout(backend, n.asDouble());
            }
        }
        return new Dropout(backend, dflt);
    }

    public float p() {
        return p;
    }

    public Tensor forward(Tensor x) {
        return backend.dropout(x, p);
    }
}
