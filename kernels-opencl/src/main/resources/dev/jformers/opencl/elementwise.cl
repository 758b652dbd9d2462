// Element-wise kernels and data movement: strided copy, broadcast add, activations, embedding gather.
//
// Conventions for every file in this folder:
//   * all data is float32 in __global buffers; offsets and strides are counted in elements (long);
//   * a "row" is the last dimension of a tensor; reductions over a row use one work-group;
//   * build options define WG (the work-group size of row kernels, a power of two) and the GEMM
//     tile sizes TS and WPT (see gemm.cl).

// ------------------------------------------------------------------------------------------------
// Strided copy of a 4-d block: dst[i0, i1, i2, i3] = src[i0, i1, i2, i3], each side with its own
// offset and strides. The host merges and pads dimensions so that every tensor fits 4 of them.
// It turns a view (narrow, select, transpose) into a contiguous tensor ("gather"), and writes a
// contiguous tensor into a view ("scatter", the KV cache's copyInto).
// One work-item per element; the global size is the element count n = d0·d1·d2·d3.
__kernel void copy_strided(__global const float* src, const long srcOff,
                           const long ss0, const long ss1, const long ss2, const long ss3,
                           __global float* dst, const long dstOff,
                           const long ds0, const long ds1, const long ds2, const long ds3,
                           const long d1, const long d2, const long d3)
{
    long i = get_global_id(0);
    // split the flat index into 4 coordinates, last dimension fastest
    long i3 = i % d3; i /= d3;
    long i2 = i % d2; i /= d2;
    long i1 = i % d1;
    long i0 = i / d1;
    dst[dstOff + i0 * ds0 + i1 * ds1 + i2 * ds2 + i3 * ds3] =
        src[srcOff + i0 * ss0 + i1 * ss1 + i2 * ss2 + i3 * ss3];
}

// ------------------------------------------------------------------------------------------------
// c = a + b, where b's shape is a trailing part of a's: b repeats every `period` = b.numel
// elements of a (broadcast over a's leading dimensions). a and b are contiguous.
__kernel void add_broadcast(__global const float* a, const long aOff,
                            __global const float* b, const long bOff, const long period,
                            __global float* c)
{
    long i = get_global_id(0);
    c[i] = a[aOff + i] + b[bOff + i % period];
}

// ------------------------------------------------------------------------------------------------
// Activations, selected by `kind` (the order of dev.jformers.core.Activation):
//   0 GELU       0.5·x·(1 + erf(x/√2))                    exact, Hugging Face "gelu"
//   1 GELU_TANH  0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))  HF "gelu_new"
//   2 RELU       max(0, x)
//   3 TANH       tanh(x)
//   4 SILU       x·sigmoid(x) = x / (1 + e^(−x))
#define SQRT_HALF    0.70710678118654752440f
#define SQRT_2_OVER_PI 0.79788456080286535588f

__kernel void activation(__global const float* x, const long xOff, __global float* y, const int kind)
{
    long i = get_global_id(0);
    float v = x[xOff + i];
    float r;
    switch (kind) {
        case 0:  r = 0.5f * v * (1.0f + erf(v * SQRT_HALF)); break;
        case 1:  r = 0.5f * v * (1.0f + tanh(SQRT_2_OVER_PI * (v + 0.044715f * v * v * v))); break;
        case 2:  r = fmax(v, 0.0f); break;
        case 3:  r = tanh(v); break;
        default: r = v / (1.0f + exp(-v)); break;
    }
    y[i] = r;
}

// ------------------------------------------------------------------------------------------------
// Embedding lookup: out[r, :] = table[ids[r], :] for a table [V, C]. The host has checked every id
// against V. Work-item (c, r): one channel of one output row.
__kernel void embedding(__global const float* table, const long tableOff, const int channels,
                        __global const int* ids, __global float* out)
{
    int c = get_global_id(0);
    long r = get_global_id(1);
    out[r * channels + c] = table[tableOff + (long) ids[r] * channels + c];
}
