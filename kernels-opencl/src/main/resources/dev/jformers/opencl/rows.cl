// Kernels that reduce over a row: layer norm, softmax, and attention (a softmax over the scores of
// one query). One work-group of WG work-items handles one row: each work-item walks the row with
// stride WG, then the work-group combines the partial results in local memory.
//
// No fast-math build options: the masking below relies on IEEE arithmetic
// (−FLT_MAX + −FLT_MAX = −∞, exp(−∞) = 0).

// The sum of v over the work-group, returned to every work-item. scratch is __local float[WG].
// Every work-item of the group must call it (it contains barriers).
float group_sum(float v, __local float* scratch)
{
    const int lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = WG / 2; s > 0; s >>= 1) {      // tree reduction: WG/2, WG/4, … partial sums
        if (lid < s) {
            scratch[lid] += scratch[lid + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float result = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);               // scratch may be reused right after
    return result;
}

// The maximum of v over the work-group; same rules as group_sum.
float group_max(float v, __local float* scratch)
{
    const int lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = WG / 2; s > 0; s >>= 1) {
        if (lid < s) {
            scratch[lid] = fmax(scratch[lid], scratch[lid + s]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float result = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return result;
}

// ------------------------------------------------------------------------------------------------
// Layer norm over rows of C: y = (x − mean) / sqrt(var + eps) · gamma + beta, with the biased
// variance (divided by C), computed in two passes like the reference. Work-group per row.
__kernel void layer_norm(__global const float* x, const long xOff,
                         __global const float* gamma, const long gammaOff,
                         __global const float* beta, const long betaOff,
                         __global float* y, const int C, const float eps)
{
    __local float scratch[WG];
    const long row = get_group_id(0);
    const int lid = get_local_id(0);
    __global const float* xr = x + xOff + row * C;
    __global float* yr = y + row * C;

    float s = 0.0f;
    for (int i = lid; i < C; i += WG) {
        s += xr[i];
    }
    const float mean = group_sum(s, scratch) / C;

    float ss = 0.0f;
    for (int i = lid; i < C; i += WG) {
        const float dev = xr[i] - mean;
        ss = fma(dev, dev, ss);
    }
    const float var = group_sum(ss, scratch) / C;
    const float inv = 1.0f / sqrt(var + eps);

    for (int i = lid; i < C; i += WG) {
        yr[i] = (xr[i] - mean) * inv * gamma[gammaOff + i] + beta[betaOff + i];
    }
}

// ------------------------------------------------------------------------------------------------
// Softmax over rows of C: y = exp(x − max) / Σ exp(x − max). A row whose maximum is −∞ (every
// entry masked) becomes all zeros instead of NaN, as in the reference.
__kernel void softmax(__global const float* x, const long xOff, __global float* y, const int C)
{
    __local float scratch[WG];
    const long row = get_group_id(0);
    const int lid = get_local_id(0);
    __global const float* xr = x + xOff + row * C;
    __global float* yr = y + row * C;

    float m = -INFINITY;
    for (int i = lid; i < C; i += WG) {
        m = fmax(m, xr[i]);
    }
    m = group_max(m, scratch);

    float s = 0.0f;
    for (int i = lid; i < C; i += WG) {
        const float e = m == -INFINITY ? 0.0f : exp(xr[i] - m);
        yr[i] = e;                              // each work-item re-reads only its own entries below
        s += e;
    }
    const float sum = group_sum(s, scratch);
    for (int i = lid; i < C; i += WG) {
        yr[i] = m == -INFINITY ? 0.0f : yr[i] / sum;
    }
}

// ------------------------------------------------------------------------------------------------
// Scaled dot-product attention, fused: one work-group per (batch b, head h, query i).
//
//   q [B, Tq, heads·d], k and v [B, Tk, heads·d]: each with an offset, a batch stride and a row
//   stride (views of a fused qkv tensor or of a KV cache); the last dimension is contiguous.
//
//   1. scores[j] = (q_i · k_j)·scale for every key j, kept in local memory (Tk floats);
//      causal: keys after the query's absolute position Tk − Tq + i get −FLT_MAX;
//      padding: keys with pad[b, j] == 0 get −FLT_MAX added (HF's additive mask);
//   2. softmax over j (a row whose max is −∞ becomes zeros), optionally written to
//      probs [B, heads, Tq, Tk];
//   3. context[b, i, h·d + t] = Σ_j p[j] · v[b, j, h·d + t], one work-item per channel t.
__kernel void attention(__global const float* q, const long qOff, const long qBatch, const long qRow,
                        __global const float* k, const long kOff, const long kBatch, const long kRow,
                        __global const float* v, const long vOff, const long vBatch, const long vRow,
                        __global const float* pad, const int hasPad, const int causal,
                        const int heads, const int Tq, const int Tk, const int d, const float scale,
                        __global float* context, __global float* probs, const int writeProbs,
                        __local float* scores, __local float* qv)
{
    __local float scratch[WG];
    const long g = get_group_id(0);             // = (b·heads + h)·Tq + i
    const int i = g % Tq;
    const int h = (g / Tq) % heads;
    const int b = g / ((long) Tq * heads);
    const int lid = get_local_id(0);

    // the query's head slice, once into local memory
    __global const float* qr = q + qOff + b * qBatch + i * qRow + h * d;
    for (int t = lid; t < d; t += WG) {
        qv[t] = qr[t];
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    // 1. masked scores and their maximum
    const int lastVisible = Tk - Tq + i;         // causal: the query's absolute position
    float m = -INFINITY;
    for (int j = lid; j < Tk; j += WG) {
        __global const float* kr = k + kOff + b * kBatch + j * kRow + h * d;
        // q·k over the head's d channels, 16 at a time (hsum16 is in gemm.cl), then the tail
        float16 acc = 0.0f;
        int t = 0;
        for (; t + 16 <= d; t += 16) {
            acc = fma(vload16(0, qv + t), vload16(0, kr + t), acc);
        }
        float dot = hsum16(acc);
        for (; t < d; t++) {
            dot = fma(qv[t], kr[t], dot);
        }
        float s = dot * scale;
        if (causal && j > lastVisible) {
            s = -FLT_MAX;
        }
        if (hasPad && pad[(long) b * Tk + j] == 0.0f) {
            s += -FLT_MAX;
        }
        scores[j] = s;
        m = fmax(m, s);
    }
    m = group_max(m, scratch);

    // 2. softmax
    float sum = 0.0f;
    for (int j = lid; j < Tk; j += WG) {
        const float e = m == -INFINITY ? 0.0f : exp(scores[j] - m);
        scores[j] = e;
        sum += e;
    }
    sum = group_sum(sum, scratch);
    for (int j = lid; j < Tk; j += WG) {
        const float p = m == -INFINITY ? 0.0f : scores[j] / sum;
        scores[j] = p;
        if (writeProbs) {
            probs[g * Tk + j] = p;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);               // every p[j] visible to every work-item

    // 3. probability-weighted sum of the values
    const int C = heads * d;
    for (int t = lid; t < d; t += WG) {
        __global const float* vc = v + vOff + b * vBatch + h * d + t;
        float acc = 0.0f;
        for (int j = 0; j < Tk; j++) {
            acc = fma(scores[j], vc[j * vRow], acc);
        }
        context[((long) b * Tq + i) * C + h * d + t] = acc;
    }
}
