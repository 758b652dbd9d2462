package dev.jformers.core;

/** Reference implementations in double precision, for the scalar backend and for tests. */
public final class MathFunctions {
    private MathFunctions() {
    }

    private static final double TWO_OVER_SQRT_PI = 2.0 / Math.sqrt(Math.PI);

    /**
     * The error function, accurate to about 1e-14: the Taylor series near 0, the continued
     * fraction of erfc further out.
     */
    public static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double ax = Math.abs(x);
        if (ax < 2.5) {
            // erf x = 2/√π · Σ (-1)^n x^(2n+1) / (n! (2n+1))
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 200; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            return Math.copySign(TWO_OVER_SQRT_PI * sum, x);
        }
        if (ax > 6.5) {
            return Math.copySign(1.0, x);
        }
        // erfc x = e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated from the tail
        double f = ax;
        for (int k = 60; k >= 1; k--) {
            f = ax + (k / 2.0) / f;
        }
        double erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
        return Math.copySign(1.0 - erfc, x);
    }

    /** Exact GELU, 0.5·x·(1 + erf(x/√2)). */
    public static double gelu(double x) {
        return 0.5 * x * (1.0 + erf(x / Math.sqrt(2.0)));
    }

    /** GELU with the tanh approximation (HF "gelu_new"). */
    public static double geluTanh(double x) {
        return 0.5 * x * (1.0 + Math.tanh(Math.sqrt(2.0 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    /** x·sigmoid(x). */
    public static double silu(double x) {
        return x / (1.0 + Math.exp(-x));
    }
}
