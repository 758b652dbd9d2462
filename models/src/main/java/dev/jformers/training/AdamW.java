package dev.jformers.training;

import dev.jformers.core.AdamWStep;
import dev.jformers.core.JformersException;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code torch.optim.AdamW} (the Trainer's {@code adamw_torch}), single-tensor path, in float32 as PyTorch
 * computes it. Per parameter with gradient g, at step t:
 * <pre>
 *   p = p·(1 − lr·wd)                         // decoupled weight decay, before the moments
 *   m = β1·m + (1 − β1)·g
 *   v = β2·v + (1 − β2)·g²
 *   p = p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
 * </pre>
 * A step at lr 0 (linear warmup's first) leaves p unchanged but advances t, m and v, as in PyTorch.
 */
public final class AdamW implements Optimizer {
    private final List<Group> groups;
    private final double beta1, beta2, eps;
    private final Map<Parameter, State> state = new HashMap<>();

    /** Parameters sharing a weight decay (Hugging Face: biases and LayerNorm weights get none). */
    public record Group(List<Parameter> parameters, double weightDecay) {
        public Group {
            if (weightDecay < 0) {
                throw new JformersException("weight decay must be ≥ 0, got " + weightDecay);
            }
        }
    }

    private static final class State {
        int step;
        final float[] expAvg, expAvgSq;

        State(int n) {
            expAvg = new float[n];
            expAvgSq = new float[n];
        }
    }

    public AdamW(List<Group> groups, double beta1, double beta2, double eps) {
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps >= 0)) {
            throw new JformersException("AdamW: betas must be in [0, 1) and epsilon ≥ 0, got " + beta1 + ", " + beta2
                    + ", " + eps);
        }
        this.groups = List.copyOf(groups);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
    }

    @Override
    public void step(double lr) {
        for (Group group : groups) {
            for (Parameter p : group.parameters()) {
                float[] g = p.grad();
                if (g != null) {
                    update(p, g, lr, group.weightDecay());
                }
            }
        }
    }

    private void update(Parameter p, float[] g, double lr, double weightDecay) {
        State s = state.computeIfAbsent(p, k -> new State(p.size()));
        s.step++;
        double biasCorrection1 = 1 - Math.pow(beta1, s.step);
        double biasCorrection2Sqrt = Math.sqrt(1 - Math.pow(beta2, s.step));
        AdamWStep step = new AdamWStep((float) (1 - lr * weightDecay), (float) beta1, (float) (1 - beta1), (float) beta2,
                (float) (1 - beta2), (float) (lr / biasCorrection1), (float) biasCorrection2Sqrt, (float) eps);
        p.backend().adamW(step, p.data(), g, p.offset(), s.expAvg, s.expAvgSq, p.size());   // vectorised on the SIMD backend
    }

    @Override
    public Map<String, float[]> state() {
        Map<String, float[]> out = new LinkedHashMap<>();
        state.forEach((p, s) -> {
            out.put(p.name() + ".exp_avg", s.expAvg);
            out.put(p.name() + ".exp_avg_sq", s.expAvgSq);
            out.put(p.name() + ".step", new float[] {s.step});
        });
        return out;
    }

    @Override
    public void loadState(Map<String, float[]> saved) {
        state.clear();
        for (Group group : groups) {
            for (Parameter p : group.parameters()) {
                float[] m = saved.get(p.name() + ".exp_avg"), v = saved.get(p.name() + ".exp_avg_sq"),
                        step = saved.get(p.name() + ".step");
                if (m == null && v == null && step == null) {
                    continue;                              // no gradient reached it yet
                }
                if (m == null || v == null || step == null || m.length != p.size() || v.length != p.size()) {
                    throw new JformersException("optimizer state of " + p.name() + " is missing or has the wrong size");
                }
                State s = new State(p.size());
                System.arraycopy(m, 0, s.expAvg, 0, m.length);
                System.arraycopy(v, 0, s.expAvgSq, 0, v.length);
                s.step = (int) step[0];
                state.put(p, s);
            }
        }
    }
}
