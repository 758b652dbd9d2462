package dev.jformers.training;

import java.util.Collection;

/** {@code torch.nn.utils.clip_grad_norm_}: one global L2 norm over every gradient (a tied weight once). */
public final class GradientClipping {
    private GradientClipping() {
    }

    /**
     * The global norm ‖(‖g₁‖, …, ‖gₖ‖)‖ before clipping; when it exceeds {@code maxNorm}, every gradient is
     * multiplied by maxNorm / (norm + 1e−6). maxNorm ≤ 0 only measures.
     */
    public static float clipGradNorm(Collection<Parameter> parameters, double maxNorm) {
        double sumOfSquares = 0;
        for (Parameter p : parameters) {
            float[] g = p.grad();
            if (g == null) {
                continue;
            }
            double s = 0;
            for (int i = p.offset(), end = p.offset() + p.size(); i < end; i++) {
                s += (double) g[i] * g[i];
            }
            float norm = (float) Math.sqrt(s);            // PyTorch: each parameter's norm, then the norm of those
            sumOfSquares += (double) norm * norm;
        }
        float total = (float) Math.sqrt(sumOfSquares);
        if (maxNorm > 0) {
            float coef = (float) (maxNorm / (total + 1e-6));
            if (coef < 1) {
                for (Parameter p : parameters) {
                    float[] g = p.grad();
                    if (g != null) {
                        for (int i = p.offset(), end = p.offset() + p.size(); i < end; i++) {
                            g[i] *= coef;
                        }
                    }
                }
            }
        }
        return total;
    }
}
