// Tiled matrix product with local memory:  C[batch] = A[batch] · op(B[batch]) (+ bias)
//
//   A  [M, K] row-major, row stride lda
//   B  bTrans == 0: [K, N] row-major, row stride ldb   (x·W,  GPT-2 Conv1D, IN_OUT)
//      bTrans == 1: [N, K] row-major, row stride ldb   (x·Wᵀ, nn.Linear, OUT_IN)
//   C  [M, N] contiguous
//
// Each work-group computes one TS×TS tile of C. It walks along K in steps of TS: the work-items
// first copy a TS×TS tile of A and one of B into local memory (each loads WPT elements of each),
// wait at a barrier, then multiply the two tiles out of local memory, so every element read from
// global memory is reused TS times. Each work-item accumulates WPT outputs of one column of the
// tile (rows ly, ly + RTS, ly + 2·RTS, …) in registers.
//
// Work-group: (TS, RTS) with RTS = TS / WPT; global size (ceil(N/TS)·TS, ceil(M/TS)·RTS, batch).
// Tiles that stick out of the matrix read zeros and write nothing, so any M, N, K works.
// TS and WPT come from the build options.

#define RTS (TS / WPT)

__kernel void gemm(const int M, const int N, const int K,
                   __global const float* A, const long aOff, const long lda, const long aBatch,
                   __global const float* B, const long bOff, const long ldb, const long bBatch, const int bTrans,
                   __global const float* bias, const long biasOff, const int hasBias,
                   __global float* C, const long cBatch)
{
    const int lx = get_local_id(0);              // column inside the tile
    const int ly = get_local_id(1);              // first of this work-item's WPT rows
    const int tileCol = get_group_id(0) * TS;
    const int tileRow = get_group_id(1) * TS;
    const long batch = get_global_id(2);
    const int col = tileCol + lx;

    A += aOff + batch * aBatch;
    B += bOff + batch * bBatch;
    C += batch * cBatch;

    // +1 column of padding keeps the column reads of Bs free of bank conflicts on GPUs
    __local float As[TS][TS + 1];                 // As[row][k]
    __local float Bs[TS][TS + 1];                 // Bs[k][col]

    float acc[WPT];
    for (int w = 0; w < WPT; w++) {
        acc[w] = 0.0f;
    }

    for (int t = 0; t < K; t += TS) {
        // load the tiles: work-item (lx, ly) loads rows ly, ly + RTS, … of each
        for (int w = 0; w < WPT; w++) {
            const int r = ly + w * RTS;
            const int gRow = tileRow + r;
            As[r][lx] = (gRow < M && t + lx < K) ? A[(long) gRow * lda + t + lx] : 0.0f;
            if (bTrans) {
                // B is [N, K]: read along K (consecutive lx → consecutive addresses), store transposed
                const int n = tileCol + r;
                Bs[lx][r] = (n < N && t + lx < K) ? B[(long) n * ldb + t + lx] : 0.0f;
            } else {
                // B is [K, N]: read along N
                Bs[r][lx] = (t + r < K && col < N) ? B[(long) (t + r) * ldb + col] : 0.0f;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        // multiply the tiles
        for (int k = 0; k < TS; k++) {
            const float b = Bs[k][lx];
            for (int w = 0; w < WPT; w++) {
                acc[w] = fma(As[ly + w * RTS][k], b, acc[w]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);           // before the next iteration overwrites the tiles
    }

    if (col < N) {
        const float b = hasBias ? bias[biasOff + col] : 0.0f;
        for (int w = 0; w < WPT; w++) {
            const int row = tileRow + ly + w * RTS;
            if (row < M) {
                C[(long) row * N + col] = acc[w] + b;
            }
        }
    }
}

// ================================================================================================
// CPU variants. On a CPU device (PoCL) local memory is ordinary cached memory and every barrier
// splits the kernel into separate loops over the work-items, so the tiled kernel above runs
// slowly there. These two kernels use no local memory and no barriers: each work-item computes a
// small block of C with explicit 16-wide vectors (one AVX-512 register), reading A and B straight
// from memory, which the CPU's caches keep close. Same arguments as gemm.

// The sum of the 16 lanes of v.
float hsum16(float16 v)
{
    float8 s8 = v.lo + v.hi;
    float4 s4 = s8.lo + s8.hi;
    float2 s2 = s4.lo + s4.hi;
    return s2.x + s2.y;
}

// B [K, N] (bTrans == 0). Work-item (j, i) computes rows 4i … 4i+3 and columns 16j … 16j+15:
// for each k, one 16-wide row segment of B times four scalars of A.
// Global size (ceil(N/16), ceil(M/4), batch).
__kernel void gemm_nn_cpu(const int M, const int N, const int K,
                          __global const float* A, const long aOff, const long lda, const long aBatch,
                          __global const float* B, const long bOff, const long ldb, const long bBatch, const int bTrans,
                          __global const float* bias, const long biasOff, const int hasBias,
                          __global float* C, const long cBatch)
{
    const int col0 = get_global_id(0) * 16;
    const int row0 = get_global_id(1) * 4;
    const long batch = get_global_id(2);
    A += aOff + batch * aBatch;
    B += bOff + batch * bBatch;
    C += batch * cBatch;
    const int rows = min(4, M - row0);

    if (col0 + 16 <= N) {
        // rows past M read row M−1 (always valid) and are not stored
        __global const float* a0 = A + (long) min(row0, M - 1) * lda;
        __global const float* a1 = A + (long) min(row0 + 1, M - 1) * lda;
        __global const float* a2 = A + (long) min(row0 + 2, M - 1) * lda;
        __global const float* a3 = A + (long) min(row0 + 3, M - 1) * lda;
        float16 c0 = 0.0f, c1 = 0.0f, c2 = 0.0f, c3 = 0.0f;
        for (int k = 0; k < K; k++) {
            const float16 b = vload16(0, B + (long) k * ldb + col0);
            c0 = fma((float16) a0[k], b, c0);
            c1 = fma((float16) a1[k], b, c1);
            c2 = fma((float16) a2[k], b, c2);
            c3 = fma((float16) a3[k], b, c3);
        }
        const float16 bv = hasBias ? vload16(0, bias + biasOff + col0) : (float16) 0.0f;
        __global float* c = C + (long) row0 * N + col0;
        vstore16(c0 + bv, 0, c);
        if (rows > 1) vstore16(c1 + bv, 0, c + N);
        if (rows > 2) vstore16(c2 + bv, 0, c + 2L * N);
        if (rows > 3) vstore16(c3 + bv, 0, c + 3L * N);
    } else {
        // the last, partial block of columns: one element at a time
        for (int r = 0; r < rows; r++) {
            for (int j = col0; j < N; j++) {
                float s = 0.0f;
                for (int k = 0; k < K; k++) {
                    s = fma(A[(long) (row0 + r) * lda + k], B[(long) k * ldb + j], s);
                }
                C[(long) (row0 + r) * N + j] = s + (hasBias ? bias[biasOff + j] : 0.0f);
            }
        }
    }
}

// B [N, K] (bTrans == 1, nn.Linear weights): C[i, j] = A row i · B row j, both contiguous along K.
// Work-item (j, i) computes rows 2i, 2i+1 and columns 4j … 4j+3: eight dot products, 16 lanes of K
// at a time, then the lanes are summed. Global size (ceil(N/4), ceil(M/2), batch).
__kernel void gemm_nt_cpu(const int M, const int N, const int K,
                          __global const float* A, const long aOff, const long lda, const long aBatch,
                          __global const float* B, const long bOff, const long ldb, const long bBatch, const int bTrans,
                          __global const float* bias, const long biasOff, const int hasBias,
                          __global float* C, const long cBatch)
{
    const int col0 = get_global_id(0) * 4;
    const int row0 = get_global_id(1) * 2;
    const long batch = get_global_id(2);
    A += aOff + batch * aBatch;
    B += bOff + batch * bBatch;
    C += batch * cBatch;

    __global const float* a[2];
    __global const float* b[4];
    for (int r = 0; r < 2; r++) {
        a[r] = A + (long) min(row0 + r, M - 1) * lda;       // rows/columns past the end are clamped,
    }                                                       // computed, and not stored
    for (int j = 0; j < 4; j++) {
        b[j] = B + (long) min(col0 + j, N - 1) * ldb;
    }
    float16 acc[2][4];
    for (int r = 0; r < 2; r++) {
        for (int j = 0; j < 4; j++) {
            acc[r][j] = 0.0f;
        }
    }
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        const float16 x0 = vload16(0, a[0] + k), x1 = vload16(0, a[1] + k);
        for (int j = 0; j < 4; j++) {
            const float16 w = vload16(0, b[j] + k);
            acc[0][j] = fma(x0, w, acc[0][j]);
            acc[1][j] = fma(x1, w, acc[1][j]);
        }
    }
    for (int r = 0; r < 2; r++) {
        for (int j = 0; j < 4; j++) {
            float s = hsum16(acc[r][j]);
            for (int t = k; t < K; t++) {                       // the tail of K
                s = fma(a[r][t], b[j][t], s);
            }
            if (row0 + r < M && col0 + j < N) {
                C[(long) (row0 + r) * N + col0 + j] = s + (hasBias ? bias[biasOff + col0 + j] : 0.0f);
            }
        }
    }
}
