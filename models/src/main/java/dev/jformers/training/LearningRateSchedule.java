package dev.jformers.training;

import dev.jformers.core.JformersException;

import java.util.Locale;

/**
 * Hugging Face's {@code get_*_schedule_with_warmup}: the multiplier of the base learning rate at 0-based step s.
 * Warmup rises linearly from 0 (so a linear schedule with warmup gives lr 0 at the first step), then:
 * linear decays to 0 at the last step, cosine follows half a cosine to 0, constant stays at 1.
 */
public record LearningRateSchedule(Kind kind, double baseLr, int warmupSteps, int totalSteps) {

    /** HF's {@code lr_scheduler_type}. */
    public enum Kind {
        /** Warm-up, then linear decay to 0 at the last step. */
        LINEAR,
        /** Warm-up, then half a cosine down to 0. */
        COSINE,
        /** The base rate throughout (warm-up ignored). */
        CONSTANT,
        /** Warm-up, then the base rate. */
        CONSTANT_WITH_WARMUP
    }

    public LearningRateSchedule {
        if (!(baseLr > 0)) {
            throw new JformersException("learning rate must be > 0, got " + baseLr);
        }
        if (warmupSteps < 0 || totalSteps < 0) {
            throw new JformersException("warmup and total steps must be ≥ 0");
        }
    }

    /** "linear", "cosine", "constant", "constant_with_warmup" (the Trainer's lr_scheduler_type). */
    public static Kind kind(String name) {
        try {
            return Kind.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new JformersException("unknown lr_scheduler_type '" + name
                    + "' (linear, cosine, constant, constant_with_warmup)");
        }
    }

    /** The learning rate for 0-based step {@code step}. */
    public double lr(int step) {
        return baseLr * factor(step);
    }

    double factor(int step) {
        if (kind == Kind.CONSTANT) {
            return 1;
        }
        if (step < warmupSteps) {
            return (double) step / Math.max(1, warmupSteps);
        }
        return switch (kind) {
            case LINEAR -> Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
            case COSINE -> {
                double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
                yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * 0.5 * 2.0 * progress)));
            }
            default -> 1;
        };
    }
}
