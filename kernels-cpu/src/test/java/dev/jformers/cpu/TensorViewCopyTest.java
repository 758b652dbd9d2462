package dev.jformers.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jformers.core.DType;
import dev.jformers.core.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link Tensor#contiguous} and {@link Tensor#toFloatArray} of strided views copy whole rows where the last
 * dimension is dense (h[:, 0] of a [B, T, C] hidden state, a slice of columns) and element by element where it
 * is not (a transpose): both must give exactly the values {@link Tensor#getFloat} reads.
 */
class TensorViewCopyTest {

    private static Tensor counting(int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = i * 0.5f - 7;
        }
        return Tensor.of(v, shape);
    }

    /** Every element through getFloat, in row-major order. */
    private static float[] elementByElement(Tensor t) {
        float[] out = new float[(int) t.numel()];
        int[] shape = t.shape(), idx = new int[shape.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.getFloat(idx);
            for (int d = shape.length - 1; d >= 0 && ++idx[d] == shape[d]; d--) {
                idx[d] = 0;
            }
        }
        return out;
    }

    @Test
    void stridedViewsCopyTheValuesGetFloatReads() {
        Tensor h = counting(3, 5, 7);
        List<Tensor> views = List.of(
                h.select(1, 0),                       // [3, 7], rows 35 floats apart: the pooler's h[:, 0]
                h.select(1, 4),
                h.narrow(2, 2, 4),                    // a slice of columns
                h.narrow(1, 1, 3).narrow(2, 1, 5),
                h.transpose(1, 2),                    // last stride 7: element by element
                h.select(2, 3),                       // [3, 5], last stride 7
                h.narrow(2, 6, 1),                    // rows of one element
                h.narrow(1, 0, 0));                   // empty
        for (Tensor v : views) {
            float[] expected = elementByElement(v);
            assertArrayEquals(expected, v.toFloatArray(), v.toString());
            Tensor c = v.contiguous();
            assertTrue(c.isContiguous(), v.toString());
            assertArrayEquals(v.shape(), c.shape());
            assertArrayEquals(expected, c.toFloatArray(), v.toString());
        }
    }

    @Test
    void stridedBf16ViewKeepsItsDtypeAndValues() {
        Tensor h = counting(2, 3, 4);
        Tensor bf = Tensor.zeros(DType.BF16, 2, 3, 4);
        float[] v = h.toFloatArray();
        for (int i = 0; i < v.length; i++) {   // bf16 holds these halves exactly
            bf.segment().set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i,
                    (short) (Float.floatToIntBits(v[i]) >>> 16));
        }
        Tensor view = bf.select(1, 2);
        Tensor c = view.contiguous();
        assertEquals(DType.BF16, c.dtype());
        assertArrayEquals(elementByElement(h.select(1, 2)), c.toFloatArray());
        assertArrayEquals(elementByElement(h.select(1, 2)), view.toFloatArray());
    }

    /**
     * copyInto from a strided view (the keys third of a fused [B, T, 3C] projection) into a strided one (positions of a
     * KV cache [B, capacity, C]) reads the source's rows in place: the cache gets exactly the view's values, and
     * nothing outside the destination rows changes. An integer source is converted.
     */
    @Test
    void copyIntoReadsAStridedSourceRowByRow() {
        for (CpuBackend backend : List.of(new ScalarBackend(), new SimdBackend(1, 0))) {
            Tensor fused = counting(2, 3, 12), keys = fused.narrow(2, 4, 4);   // [2, 3, 4], rows 12 floats apart
            Tensor cache = Tensor.zeros(DType.F32, 2, 5, 4);
            backend.copyInto(keys, cache.narrow(1, 1, 3));
            assertArrayEquals(elementByElement(keys), cache.narrow(1, 1, 3).toFloatArray(), backend.name());
            assertArrayEquals(new float[8], cache.narrow(1, 0, 1).toFloatArray(), backend.name() + ": position 0 untouched");
            assertArrayEquals(new float[8], cache.narrow(1, 4, 1).toFloatArray(), backend.name() + ": position 4 untouched");
            Tensor ids = Tensor.ofLongs(new long[] {1, 2, 3, 4}, 1, 4);
            Tensor row = Tensor.zeros(DType.F32, 1, 4);
            backend.copyInto(ids, row);
            assertArrayEquals(new float[] {1, 2, 3, 4}, row.toFloatArray(), backend.name() + ": integers converted");
            if (backend instanceof SimdBackend simd) {
                simd.close();
            }
        }
    }
}
