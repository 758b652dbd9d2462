package dev.jformers.training;

import dev.jformers.core.JformersException;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code torch.optim.SGD}: p = p − lr·g, with optional momentum (b = μ·b + g, dampening 0; p = p − lr·b)
 * and L2 weight decay added to the gradient (g + wd·p), as PyTorch does it.
 */
public final class Sgd implements Optimizer {
    private final List<Parameter> parameters;
    private final double momentum, weightDecay;
    private final Map<Parameter, float[]> momentumBuffers = new HashMap<>();

    public Sgd(List<Parameter> parameters, double momentum, double weightDecay) {
        if (momentum < 0 || weightDecay < 0) {
            throw new JformersException("SGD: momentum and weight decay must be ≥ 0");
        }
        this.parameters = List.copyOf(parameters);
        this.momentum = momentum;
        this.weightDecay = weightDecay;
    }

    @Override
    public void step(double lr) {
        float rate = (float) lr, mu = (float) momentum, wd = (float) weightDecay;
        for (Parameter p : parameters) {
            float[] g = p.grad();
            if (g == null) {
                continue;
            }
            float[] w = p.data();
            int off = p.offset(), n = p.size();
            float[] buffer = momentum == 0 ? null : momentumBuffers.get(p);
            boolean first = buffer == null && momentum != 0;
            if (first) {
                buffer = new float[n];
                momentumBuffers.put(p, buffer);
            }
            for (int i = 0; i < n; i++) {
                float d = g[off + i] + (wd == 0 ? 0 : wd * w[off + i]);
                if (buffer != null) {
                    d = first ? d : mu * buffer[i] + d;   // PyTorch: the first buffer is the gradient itself
                    buffer[i] = d;
                }
                w[off + i] -= rate * d;
            }
        }
    }

    @Override
    public Map<String, float[]> state() {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        momentumBuffers.forEach((p, b) -> out.put(p.name() + ".momentum_buffer", b));
        return out;
    }

    @Override
    public void loadState(Map<String, float[]> saved) {
        momentumBuffers.clear();
        for (Parameter p : parameters) {
            float[] b = saved.get(p.name() + ".momentum_buffer");
            if (b != null) {
                if (b.length != p.size()) {
                    throw new JformersException("momentum buffer of " + p.name() + " has the wrong size");
                }
                momentumBuffers.put(p, b.clone());
            }
        }
    }
}
