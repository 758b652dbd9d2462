package dev.jformers.models;

import dev.jformers.core.Backend;
import dev.jformers.core.DType;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/** Small host-side tensor utilities the models share. */
public final class Tensors {
    private Tensors() {
    }

    /** Stacks equal-shaped tensors into a new leading dimension, on the host. */
    public static Tensor stack(Backend backend, List<Tensor> parts) {
        int[] shape = parts.getFirst().shape();
        int[] out = new int[shape.length + 1];
        out[0] = parts.size();
        System.arraycopy(shape, 0, out, 1, shape.length);
        Tensor result = Tensor.zeros(DType.F32, out);
        long bytes = parts.getFirst().numel() * 4;
        for (int i = 0; i < parts.size(); i++) {
            Tensor p = backend.toHost(parts.get(i)).toF32();
            if (!Arrays.equals(p.shape(), shape)) {
                throw ShapeException.mismatch("stack", shape, p.shape(), "parts must have equal shapes");
            }
            MemorySegment.copy(p.segment(), p.offset() * 4, result.segment(), i * bytes, bytes);
        }
        return result;
    }

    /** A host copy of {@code t} as contiguous float32. */
    public static Tensor host(Backend backend, Tensor t) {
        return backend.toHost(t).toF32();
    }

    /** An integer tensor [rows, cols] as rows of longs (the inverse of {@link ModelInput#ids}). */
    public static long[][] rows(Tensor t) {
        if (t.rank() != 2) {
            throw new ShapeException("rows: expected a 2-d tensor, got " + t);
        }
        long[] flat = t.toLongArray();
        int cols = t.dim(1);
        long[][] out = new long[t.dim(0)][cols];
        for (int r = 0; r < out.length; r++) {
            System.arraycopy(flat, r * cols, out[r], 0, cols);
        }
        return out;
    }

    /** Positions 0..T−1 as an I64 tensor [T]. */
    public static Tensor arange(int start, int count) {
        long[] v = new long[count];
        for (int i = 0; i < count; i++) {
            v[i] = start + i;
        }
        return Tensor.ofLongs(v, count);
    }

    /**
     * Each sequence's first token of x [B, T, C] as [B, 1, C] (x[:, :1]), through the backend's gatherRows so that
     * training carries its gradient back into x.
     */
    public static Tensor firstTokens(Backend backend, Tensor x) {
        int batch = x.dim(0), tokens = x.dim(1), width = x.dim(2);
        if (tokens == 0 && batch > 0) {
            throw new ShapeException("a sentence head reads each sequence's first token, but the sequences are empty: " + x);
        }
        long[] rows = new long[batch];
        for (int b = 0; b < batch; b++) {
            rows[b] = (long) b * tokens;
        }
        return backend.gatherRows(x.reshape(batch * tokens, width), rows).reshape(batch, 1, width);
    }
}
