package dev.jformers.pipelines;

import java.util.Arrays;
import java.util.Comparator;

/** The score functions HF's pipelines apply to logits (numpy on float32), computed in double, returned as float. */
final class Scores {
    private Scores() {
    }

    /** exp(x - max) / sum, as HF's pipelines compute it. */
    static float[] softmax(float[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : x) {
            max = Math.max(max, v);
        }
        double[] e = new double[x.length];
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            e[i] = Math.exp(x[i] - max);
            sum += e[i];
        }
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) (e[i] / sum);
        }
        return out;
    }

    /** 1 / (1 + exp(-x)). */
    static float[] sigmoid(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) (1.0 / (1.0 + Math.exp(-(double) x[i])));
        }
        return out;
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Indices of the k largest values, largest first (ties: lower index first). */
    static int[] topK(float[] x, int k) {
        Integer[] idx = new Integer[x.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, Comparator.<Integer>comparingDouble(i -> -x[i]).thenComparingInt(i -> i));
        int n = Math.min(k, x.length);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = idx[i];
        }
        return out;
    }
}
