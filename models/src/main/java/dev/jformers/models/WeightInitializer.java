package dev.jformers.models;

import dev.jformers.core.DType;
import dev.jformers.core.Tensor;

import java.util.Locale;
import java.util.Random;
import java.util.regex.Pattern;

/**
 * Hugging Face's {@code _init_weights} for weights a checkpoint does not have (a new head on a pretrained
 * base, or a model trained from scratch): linear and embedding weights ~ N(0, initializer_range), biases 0,
 * LayerNorm weight 1 and bias 0; GPT-2's {@code c_proj} weights ~ N(0, initializer_range/√(2·n_layer)).
 * Seeded, so that a run can be repeated; the numbers cannot equal PyTorch's generator.
 */
public final class WeightInitializer {
    /** LayerNorm parameters in the four architectures: BERT's LayerNorm, DistilBERT's *_layer_norm, GPT-2's ln_*. */
    private static final Pattern LAYER_NORM =
            Pattern.compile("(^|.*\\.)(layernorm|[a-z_]*layer_norm|ln_[0-9a-z]+)\\.(weight|bias)$");

    /** True for a LayerNorm weight or bias (case-insensitive): HF's Trainer gives them no weight decay. */
    public static boolean isLayerNorm(String parameterName) {
        return LAYER_NORM.matcher(parameterName.toLowerCase(Locale.ROOT)).matches();
    }

    private final Random random;
    private final double std;
    private final double residualProjectionStd;

    /** @param residualProjectionStd the std of GPT-2's c_proj weights (HF's scaled residual init), or std */
    public WeightInitializer(long seed, double std, double residualProjectionStd) {
        this.random = new Random(seed);
        this.std = std;
        this.residualProjectionStd = residualProjectionStd;
    }

    /** HF's initialisation for {@code config}: initializer_range (0.02 by default), GPT-2's scaled c_proj. */
    public static WeightInitializer of(PretrainedConfig config, long seed) {
        double std = config.common().json().path("initializer_range").asDouble(0.02);
        double residual = std;
        if ("gpt2".equals(config.modelType())) {
            int layers = config.common().json().path("n_layer").asInt(12);
            residual = std / Math.sqrt(2.0 * layers);
        }
        return new WeightInitializer(seed, std, residual);
    }

    /** A new tensor for the missing weight {@code name}. */
    public synchronized Tensor create(String name, int... shape) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (lower.endsWith("bias")) {
            return Tensor.zeros(DType.F32, shape);
        }
        if (isLayerNorm(lower)) {   // a weight: biases were answered above
            return Tensor.full(1f, shape);
        }
        double s = lower.endsWith("c_proj.weight") ? residualProjectionStd : std;
        Tensor t = Tensor.zeros(DType.F32, shape);
        float[] values = new float[(int) t.numel()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextGaussian() * s);
        }
        return Tensor.of(values, shape);
    }
}
