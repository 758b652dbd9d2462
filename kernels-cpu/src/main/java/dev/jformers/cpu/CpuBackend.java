package dev.jformers.cpu;

import dev.jformers.core.Backend;
import dev.jformers.core.DType;
import dev.jformers.core.JformersException;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static dev.jformers.cpu.HostTensors.F32;

/** What both CPU backends share: tensors live in host memory, so moving data is trivial. */
abstract class CpuBackend implements Backend {

    @Override
    public Tensor upload(Tensor hostTensor) {
        // A float[] of its own, which the kernels then read in place on every call, and which outlives the
        // checkpoint: the model's loader unmaps the weight files once the model is built.
        return hostTensor.rank() == 1 ? HostTensors.onHeap(hostTensor) : HostTensors.contiguousOnHeap(hostTensor);
    }

    @Override
    public Tensor toHost(Tensor t) {
        return t;
    }

    @Override
    public Tensor zeros(int... shape) {
        return Tensor.zeros(DType.F32, shape);
    }

    @Override
    public void copyInto(Tensor src, Tensor dst) {
        if (!Arrays.equals(src.shape(), dst.shape())) {
            throw ShapeException.mismatch("copyInto", src.shape(), dst.shape(), "shapes must be equal");
        }
        HostTensors.requireF32("copyInto", dst);
        // a float32 source whose rows are runs (the keys or values third of GPT-2's fused projection, on their way
        // into the KV cache) is read in place, row by row; anything else is converted to a contiguous copy first
        boolean rowsInPlace = src.dtype() == DType.F32 && (src.rank() == 0 || src.dim(-1) <= 1 || src.stride(-1) == 1);
        Tensor s = rowsInPlace ? src : src.toF32();
        int cols = s.rank() == 0 ? 1 : s.dim(-1);
        long rows = HostTensors.rows(s);
        long colStride = dst.rank() == 0 ? 1 : dst.stride(-1);
        MemorySegment from = s.segment(), to = dst.segment();
        for (long r = 0; r < rows; r++) {
            long srcRow = HostTensors.rowOffset(s, r);
            long dstRow = HostTensors.rowOffset(dst, r);
            if (colStride == 1) {
                MemorySegment.copy(from, srcRow * 4, to, dstRow * 4, cols * 4L);
            } else {
                for (int c = 0; c < cols; c++) {
                    to.setAtIndex(F32, dstRow + c * colStride, from.getAtIndex(F32, srcRow + c));
                }
            }
        }
    }

    /** Looks up rows of a [V, C] table: out[..., :] = table[ids[...], :]. */
    @Override
    public Tensor embedding(Tensor table, Tensor ids) {
        if (table.rank() != 2) {
            throw ShapeException.of("embedding", "a table [vocab, channels]", table.shape());
        }
        if (ids.dtype().isFloatingPoint()) {
            throw new ShapeException("embedding: ids must be integers, got " + ids);
        }
        Tensor t = table.toF32();
        int vocab = t.dim(0), channels = t.dim(1);
        long[] idx = ids.toLongArray();
        int[] outShape = Arrays.copyOf(ids.shape(), ids.rank() + 1);
        outShape[ids.rank()] = channels;
        Tensor out = zeros(outShape);   // the SIMD backend's recycled arrays
        for (int i = 0; i < idx.length; i++) {
            long id = idx[i];
            if (id < 0 || id >= vocab) {
                throw new JformersException("embedding: id " + id + " is outside the table of " + vocab + " rows");
            }
            MemorySegment.copy(t.segment(), (t.offset() + id * channels) * 4, out.segment(), (long) i * channels * 4,
                    channels * 4L);
        }
        return out;
    }

    // ---------------------------------------------------------------- training: TrainingKernels' reference loops

    @Override
    public boolean supportsTraining() {
        return true;
    }

    @Override
    public Tensor multiply(Tensor a, Tensor b) {
        return TrainingKernels.multiply(a, b);
    }

    @Override
    public Tensor crossEntropy(Tensor logits, Tensor labels, int ignoreIndex) {
        return TrainingKernels.crossEntropy(logits, labels, ignoreIndex);
    }

    @Override
    public Tensor mseLoss(Tensor input, Tensor target) {
        return TrainingKernels.mseLoss(input, target);
    }

    @Override
    public Tensor bceWithLogitsLoss(Tensor logits, Tensor target) {
        return TrainingKernels.bceWithLogitsLoss(logits, target);
    }

    @Override
    public void accumulate(Tensor dst, Tensor src) {
        TrainingKernels.accumulate(dst, src);
    }

    @Override
    public Tensor linearBackward(Tensor dy, Tensor x, Tensor weight, dev.jformers.core.WeightLayout layout,
                                 Tensor dWeight, Tensor dBias, boolean inputGradient) {
        return TrainingKernels.linearBackward(dy, x, weight, layout, dWeight, dBias, inputGradient);
    }

    @Override
    public Tensor layerNormBackward(Tensor dy, Tensor x, Tensor weight, float eps, Tensor dWeight, Tensor dBias) {
        return TrainingKernels.layerNormBackward(dy, x, weight, eps, dWeight, dBias);
    }

    @Override
    public Tensor activationBackward(Tensor dy, Tensor x, dev.jformers.core.Activation activation) {
        return TrainingKernels.activationBackward(dy, x, activation);
    }

    @Override
    public Tensor softmaxBackward(Tensor dy, Tensor y) {
        return TrainingKernels.softmaxBackward(dy, y);
    }

    @Override
    public Tensor[] attentionBackward(Tensor dContext, Tensor q, Tensor k, Tensor v, Tensor probs, int heads,
                                     float scale) {
        return TrainingKernels.attentionBackward(dContext, q, k, v, probs, null, heads, scale);
    }

    @Override
    public Tensor[] attentionBackward(Tensor dContext, Tensor q, Tensor k, Tensor v, Tensor probs, Tensor keep,
                                      int heads, float scale) {
        return TrainingKernels.attentionBackward(dContext, q, k, v, probs, keep, heads, scale);
    }

    @Override
    public void embeddingBackward(Tensor dy, Tensor ids, Tensor dTable, int paddingIdx) {
        TrainingKernels.embeddingBackward(dy, ids, dTable, paddingIdx);
    }

    @Override
    public Tensor gatherRowsBackward(Tensor dy, long[] rows, int n) {
        return TrainingKernels.gatherRowsBackward(dy, rows, n);
    }

    @Override
    public Tensor crossEntropyBackward(Tensor logits, Tensor labels, int ignoreIndex, float gradOutput) {
        return TrainingKernels.crossEntropyBackward(logits, labels, ignoreIndex, gradOutput);
    }

    @Override
    public Tensor mseLossBackward(Tensor input, Tensor target, float gradOutput) {
        return TrainingKernels.mseLossBackward(input, target, gradOutput);
    }

    @Override
    public Tensor bceWithLogitsLossBackward(Tensor logits, Tensor target, float gradOutput) {
        return TrainingKernels.bceWithLogitsLossBackward(logits, target, gradOutput);
    }

    /** Checks that b's shape equals the trailing part of a's, for a broadcast add. */
    static void checkBroadcast(String op, Tensor a, Tensor b) {
        int[] as = a.shape(), bs = b.shape();
        boolean ok = bs.length <= as.length;
        for (int i = 1; ok && i <= bs.length; i++) {
            ok = as[as.length - i] == bs[bs.length - i];
        }
        if (!ok) {
            throw ShapeException.mismatch(op, as, bs, "the second must equal the trailing dimensions of the first");
        }
    }

    /** a [..., M, K], b [..., K, N] (batch dims equal, or b without them): returns {batch, M, K, N, bBatched}. */
    static int[] matmulDims(Tensor a, Tensor b) {
        if (a.rank() < 2 || b.rank() < 2) {
            throw ShapeException.mismatch("matmul", a.shape(), b.shape(), "both need at least 2 dimensions");
        }
        int m = a.dim(-2), k = a.dim(-1), k2 = b.dim(-2), n = b.dim(-1);
        if (k != k2) {
            throw ShapeException.mismatch("matmul", a.shape(), b.shape(), "inner dimensions " + k + " and " + k2);
        }
        long batch = a.numel() / Math.max(1, (long) m * k);
        long bBatch = b.numel() / Math.max(1, (long) k * n);
        boolean batched = b.rank() > 2;
        if (batched && (b.rank() != a.rank() || bBatch != batch
                || !Arrays.equals(Arrays.copyOf(a.shape(), a.rank() - 2), Arrays.copyOf(b.shape(), b.rank() - 2)))) {
            throw ShapeException.mismatch("matmul", a.shape(), b.shape(), "batch dimensions differ");
        }
        return new int[] {(int) batch, m, k, n, batched ? 1 : 0};
    }

    static int[] matmulOutShape(Tensor a, int n) {
        int[] s = a.shape();
        s[s.length - 1] = n;
        return s;
    }

    /** The key-padding mask as floats [B·Tk], or null; checks its shape. */
    static float[] paddingMask(Tensor mask, int batch, int keys) {
        if (mask == null) {
            return null;
        }
        if (mask.rank() != 2 || mask.dim(0) != batch || mask.dim(1) != keys) {
            throw ShapeException.of("attention", "a key padding mask [" + batch + ", " + keys + "]", mask.shape());
        }
        return mask.toFloatArray();
    }

    static void checkAttention(Tensor q, Tensor k, Tensor v, int heads) {
        if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3) {
            throw ShapeException.mismatch("attention", q.shape(), k.shape(), "q, k, v must be [B, T, C]");
        }
        if (!Arrays.equals(k.shape(), v.shape()) || k.dim(0) != q.dim(0) || k.dim(2) != q.dim(2)) {
            throw ShapeException.mismatch("attention", q.shape(), k.shape(), "q [B, Tq, C] needs k, v [B, Tk, C]");
        }
        if (heads <= 0 || q.dim(2) % heads != 0) {
            throw new ShapeException("attention: " + q.dim(2) + " channels don't split into " + heads + " heads");
        }
        for (Tensor t : new Tensor[] {q, k, v}) {
            HostTensors.requireF32("attention", t);
            HostTensors.requireLastDimContiguous("attention", t);
        }
    }
}
