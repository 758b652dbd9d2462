package dev.jformers.core;

/**
 * The float32 coefficients of one {@code torch.optim.AdamW} step (the single-tensor path) and its reference
 * loop. Per weight w with gradient g and moments m, v:
 * <pre>
 *   w = w·decay                                  // decay = 1 − lr·weight_decay, before the moments
 *   m = m·β1 + g·(1 − β1)
 *   v = v·β2 + (1 − β2)·g·g
 *   w = w − stepSize · m / (√v / biasCorrection2Sqrt + ε)
 * </pre>
 * with stepSize = lr / (1 − β1ᵗ) and biasCorrection2Sqrt = √(1 − β2ᵗ), each rounded to float as PyTorch does.
 * A backend that computes it faster ({@link Backend#adamW}) does the same float operations in the same order,
 * so its results are bit-identical to {@link #apply}'s.
 */
public record AdamWStep(float decay, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
                        float stepSize, float biasCorrection2Sqrt, float eps) {

    /** The step over weights w[off + i] and gradients g[off + i] with moments m[i], v[i], for i in [from, to). */
    public void apply(float[] w, float[] g, int off, float[] m, float[] v, int from, int to) {
        for (int i = from; i < to; i++) {
            float gi = g[off + i];
            float wi = w[off + i] * decay;
            float mi = m[i] * beta1 + gi * oneMinusBeta1;
            float vi = v[i] * beta2 + oneMinusBeta2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            float denom = (float) Math.sqrt(vi) / biasCorrection2Sqrt + eps;
            w[off + i] = wi - stepSize * (mi / denom);
        }
    }
}
