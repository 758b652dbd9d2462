package dev.jformers.cpu;

import dev.jformers.core.Scope;
import java.util.Set;
import java.util.List;
import java.util.IdentityHashMap;
import java.util.Collections;
import java.util.ArrayList;
import java.util.ArrayDeque;
import dev.jformers.core.AdamWStep;
import dev.jformers.core.Activation;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.AttentionOutput;
import dev.jformers.core.DType;
import dev.jformers.core.JformersException;
import dev.jformers.core.LinearWeight;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

import static dev.jformers.cpu.HostTensors.F32;

/**
 * The fast CPU backend: SIMD kernels on the JDK Vector API ({@link VectorKernels}), run on a fixed pool
 * of worker threads. Results equal {@link ScalarBackend}'s up to float32 rounding (it accumulates in
 * float, the reference in double).
 *
 * <p>How the work is cut:
 * <ul>
 *   <li>{@link #linear}: a packed, cache-blocked GEMM (see {@link PackedLinear} for the panel layout,
 *       {@link #gemm} for the loops) that works in place on the input's and output's arrays. Tasks are
 *       blocks of {@value #MC} rows × a range of weight panels; a 6-row register tile (at 512 bits; 4-row
 *       tiles for the rows left and at other widths) sweeps down the rows along one panel's K block (in L2)
 *       and accumulates into the output (at 512 bits the first K block starts from the bias, not from a
 *       copy of it in the output). Inputs of at most
 *       {@value #SKINNY_ROWS} rows (decoding) skip K blocking and split the panels between the threads,
 *       so a GEMV streams the weight exactly once. Weights may be kept in bfloat16
 *       ({@value #WEIGHTS_PROPERTY}, or a BF16 checkpoint), widened to float as they are read.</li>
 *   <li>{@link #attention}: per (batch, head), each thread taking a run of neighbouring heads, reading Q, K
 *       and V in place: scores for blocks of 4 query rows against a gathered Kᵀ (or, when decoding, dot
 *       products with the cached keys), mask, softmax, then context = P·V with V's rows read where they are.</li>
 *   <li>{@link #linearAddLayerNorm} (BERT's dense + residual + LayerNorm): the rows are finished in the GEMM's
 *       epilogue by the task that owns them, or on every thread right after the product.</li>
 *   <li>Row-wise and element-wise ops: rows (or chunks) split between the threads when large.</li>
 * </ul>
 *
 * <p>The vector width is {@link jdk.incubator.vector.FloatVector#SPECIES_PREFERRED} unless the system
 * property {@value #BITS_PROPERTY} says 128, 256, 512 or scalar (plain loops), or a constructor does.
 * Thread-safe: concurrent callers share the pool; each thread keeps its own scratch arrays.
 */
public final class SimdBackend extends CpuBackend {

    /** System property forcing the vector width: "128", "256", "512" or "scalar". */
    public static final String BITS_PROPERTY = "jformers.simd.bits";

    /**
     * System property: {@code bf16} keeps every linear layer's weight in bfloat16 (rounded from float
     * weights: different numerics from Hugging Face's float32, about 3 significant digits per weight),
     * halving the weights' memory and the bytes decoding streams per token. A BF16 checkpoint is kept in
     * bf16 whatever this says — exactly, with the same results as upcasting it.
     *
     * <p>{@code int8} quantises every linear layer's weight to int8 with a 16-bit scale per 32 input features
     * of each output ({@link PackedLinear}): 1.0625 bytes a weight with 512-bit vectors (two scales to an int; 1.083 at
     * 256 bits, 1.125 at 128 bits and in the scalar kernels, whose narrow panels keep one scale an int), so decoding
     * streams 3.76× fewer bytes than float; the GEMV dequantises as it reads, prefill and encoder GEMMs dequantise each panel block into a
     * float scratch block (memory stays int8). Results move in the second or third significant digit.
     */
    public static final String WEIGHTS_PROPERTY = "jformers.cpu.weights";

    /** The width that selects the plain-loop kernels: one float per "vector". */
    public static final int SCALAR_BITS = 32;

    /** Rows of A per GEMM task: an MC × kc block of A stays in L2 (128 × 512 floats = 256 KiB). */
    static final int MC = 128;

    /** Inputs with at most this many rows are GEMVs: no K blocking, weight panels streamed once. */
    static final int SKINNY_ROWS = 8;

    /**
     * Bytes of a panel's K block (kc × NR floats; kc = 512 at 512 bits, where NR = 64), read by the
     * register tile once per 4 (or 6) rows of A. A core that issues one 512-bit FMA per cycle (Zen 4) needs 256
     * bytes of panel per 16 cycles with the 4-row tile, which L2 delivers: blocks of 64–256 KiB in L2 next to the A
     * block measured within the noise of each other, and 3–7% faster than 32 KiB (L1). On a two-FMA core (Zen 5,
     * 6-row tiles) 64, 128 and 256 KiB were again within the noise (BackwardGemmParts, 1 thread, CPU time: 1024³
     * 236–253 GFLOP/s, BERT's FFN 230–254). The system property {@value #PANEL_BLOCK_PROPERTY} overrides it, for A/B
     * runs on another core.
     */
    static final int PANEL_BLOCK_BYTES = Integer.getInteger(SimdBackend.PANEL_BLOCK_PROPERTY, 128 * 1024);

    /** System property: bytes of a panel's K block (see {@link #PANEL_BLOCK_BYTES}). */
    public static final String PANEL_BLOCK_PROPERTY = "jformers.simd.panelBlockBytes";

    /** Below this many elements (or multiply-adds), an op runs on the calling thread alone. */
    static final long PARALLEL_THRESHOLD = 1 << 15;

    /**
     * Below this many elements the light row-wise ops (add, layer norm, add + layer norm) run on one
     * thread: their input was just written by a GEMM split by columns, so a second thread mostly waits
     * for the other core's cache (layer norm 128 × 768: 51 µs on 1 thread, 67 µs on 2).
     */
    static final long LIGHT_PARALLEL_THRESHOLD = 1 << 18;

    /**
     * Below this many multiply-adds a linear layer runs on the calling thread alone. The pool's helpers
     * spin between jobs, so handing out work costs about a µs: a 768 × 768 GEMV (≈ 30 µs) is worth splitting.
     */
    static final long GEMM_PARALLEL_THRESHOLD = 1 << 17;

    /**
     * A GEMV (decoding) on several threads is cut into runs of whole panels, claimed one at a time, so all threads
     * stream disjoint parts of the weight at once and whichever is ahead takes the next run. The runs shrink toward the
     * end ("guided", as OpenMP's schedule(guided)): each takes 1/(2·threads) of the panels still left, at most
     * {@link #GEMV_RUN_BYTES} of weight and at least one panel. A GEMV is a barrier — the next layer needs all of its
     * output — and the thread that finishes first waits for the other's last run: with runs of equal size (8 per GEMV,
     * as before) that last run was 1/8 of the weight (GPT-2's c_fc: 1.2 MB, ~38 µs of one core's streaming; its LM
     * head: 2 MiB, ~65 µs), waited for 49 times a token; guided, it is one panel (c_fc: 196 KB, ~6 µs). Where a panel
     * is large (mlp.c_proj, 3072 × 64 floats = 786 KB) one panel is as short as a run can be without splitting a
     * column's dot product, which would change its bits. The system property {@value #GEMV_RUNS_PROPERTY} = even
     * restores the equal runs ({@link #GEMV_CHUNKS_PER_THREAD} per thread, no more than {@link #GEMV_RUN_BYTES} each),
     * for an A/B on a quiet machine.
     */
    static final boolean GEMV_GUIDED_RUNS = !"even".equals(System.getProperty(SimdBackend.GEMV_RUNS_PROPERTY, "guided"));

    /** System property: how a multithreaded GEMV's runs are sized, {@code guided} (the default) or {@code even}. */
    public static final String GEMV_RUNS_PROPERTY = "jformers.simd.gemvRuns";

    /**
     * With {@code jformers.simd.gemvRuns=even}: a GEMV on several threads is cut into this many runs of whole panels
     * per thread (the split before the guided runs; 1 gives the halves of before that). A helper that starts late
     * (woken from park, preempted by another process) or reads slower (a sibling hyperthread, a busy memory channel)
     * then takes fewer runs instead of leaving the other thread idle. The system property
     * {@value #GEMV_CHUNKS_PROPERTY} overrides it, for comparing on a quiet machine.
     */
    static final int GEMV_CHUNKS_PER_THREAD = Integer.getInteger(SimdBackend.GEMV_CHUNKS_PROPERTY, 4);

    /** System property: runs of panels per thread in a multithreaded GEMV with even runs (default 4; see {@link #GEMV_CHUNKS_PER_THREAD}). */
    public static final String GEMV_CHUNKS_PROPERTY = "jformers.simd.gemvChunksPerThread";

    /**
     * A multithreaded GEMV's runs hold at most about this many bytes of weight. GPT-2's LM head is 154 MB in float32:
     * 8 runs were 19 MB each, ~0.6 ms of streaming, so a thread that fell a little behind left the other waiting for up to
     * that long per token — past the pool's 200 µs of spinning, so the caller also parked and had to be woken. Runs of
     * at most 2 MiB (~65 µs; 10 panels) keep that wait short. The system property {@value #GEMV_RUN_BYTES_PROPERTY}
     * overrides it (0: no bound).
     */
    static final long GEMV_RUN_BYTES = Long.getLong(SimdBackend.GEMV_RUN_BYTES_PROPERTY, 2L << 20);

    /** System property: the most weight bytes in one run of a multithreaded GEMV (default 2 MiB; see {@link #GEMV_RUN_BYTES}). */
    public static final String GEMV_RUN_BYTES_PROPERTY = "jformers.simd.gemvRunBytes";

    /**
     * A GEMM with fewer than 4 blocks of {@value #MC} rows per thread (BERT's 128-token projections: one block) is
     * split by columns as well, into this many runs of panels per thread, claimed in turn. 1 (the default) gives each
     * thread one run (half the panels on 2 threads), which reads A once per thread; more runs let a thread that is
     * ahead take over work from one that started late, at the price of re-reading A from L2 per run. Not yet
     * measured against each other on a quiet machine, so the default stays the former split; the system property
     * {@value #GEMM_CHUNKS_PROPERTY} chooses it for that comparison. (Split by rows instead, each thread streams every
     * weight: a 2-thread e5-small-v2 b1×s128 forward did 3–7% more work, with the two vCPUs near or far; handing each
     * thread the same run in every call changed nothing. Neither is kept: docs/benchmarks-models.md, twelfth session.)
     */
    static final int GEMM_CHUNKS_PER_THREAD = Integer.getInteger(SimdBackend.GEMM_CHUNKS_PROPERTY, 1);

    /** System property: runs of panels per thread in a multithreaded GEMM of few row blocks (default 1; see {@link #GEMM_CHUNKS_PER_THREAD}). */
    public static final String GEMM_CHUNKS_PROPERTY = "jformers.simd.gemmChunksPerThread";

    /** {@link #GEMM_CHUNKS_PER_THREAD} for this backend; not final, for A/B runs in one process. */
    int gemmChunksPerThread = GEMM_CHUNKS_PER_THREAD;

    /** Elements per chunk of an activation: 16 KiB, copied to the output, then done in place while in L1. */
    static final int CHUNK = 4096;

    /**
     * GEMMs of at most this many rows (by default every GEMM) sweep each panel with 6-row tiles
     * ({@link Kernels#gemmTile6From}), in pairs, before the 4-row ones: same bits, fewer loads and bytes per FMA. Why: on
     * few rows the sweep that streams a panel from memory asks a third fewer bytes per FMA (how-it-works §9); on a
     * core that issues two 512-bit FMAs a cycle (Zen 5) the 4 × 4 tile's 8 loads per 16 FMAs hold the FMA units back
     * on every GEMM — BackwardGemmParts, 1 thread, 1024 rows: 768 → 3072 191 → 225 GFLOP/s, 3072 → 768 180 → 228
     * (2026-12-05, Zen 5). On a one-FMA core (Zen 4) the two tiles measured the same above 128 rows, so this was 128
     * until a two-FMA core was measured. The system property {@value #SIX_ROW_TILE_PROPERTY} overrides it (0 turns
     * them off), for A/B runs on a quiet machine.
     */
    static final int SIX_ROW_TILE_MAX_ROWS = Integer.getInteger(SimdBackend.SIX_ROW_TILE_PROPERTY, Integer.MAX_VALUE);

    /** System property: the most rows of a GEMM that uses 6-row tiles (see {@link #SIX_ROW_TILE_MAX_ROWS}). */
    public static final String SIX_ROW_TILE_PROPERTY = "jformers.simd.sixRowTileMaxRows";

    /** {@link #SIX_ROW_TILE_MAX_ROWS} for this backend; not final, for A/B benchmarks in one process. */
    int sixRowTileMaxRows = SIX_ROW_TILE_MAX_ROWS;

    /**
     * GEMMs of at most this many rows whose float weights stream from memory ({@link #weightsStream}) sweep each panel
     * block first with one row ({@link #sweepOneRowFirst}), then with the 6-row tiles. Why: that first sweep brings the block from DRAM, and how fast
     * it streams seems to depend on how many bytes of the panel the core has asked for ahead, which the out-of-order
     * window sets: a 6-row sweep issues 34 instructions per 256 bytes of panel (4 loads, 6 broadcasts, 24 FMAs; ~50 in
     * C2's code, which reloads two spilled scalars and computes six row addresses each step), a 1-row sweep 9 (~6 in
     * C2's code, its loads folded into the FMAs, see VectorKernels.tile1x4). One sweep over 400 blocks of 96 KiB in a row (TileStream; Zen 5, 1 thread, CPU time): 1 row
     * 1.65–1.89 µs a block (52–59 GB/s), 2 rows 2.41–2.83, 4 rows 3.00–3.55, 6 rows 3.08–3.25 µs (30–32 GB/s); in
     * cache 0.75, 0.57, 0.86 and 1.10 µs. MiniLM's GEMMs ({@code StreamedWeightsGemm}, six 384-wide layers): 16 rows
     * 2.02–2.12 ms against 2.20–2.33 (−7 to −11%); 4 rows −29%, 8 rows −24%, 20 rows −6%, 28 rows −5%, 32 rows −4%;
     * 12 rows −4 to −7%, 24 rows −1 to −3% (once the 5 rows left after the 6-row tiles went to 3 + 2-row tiles, not
     * 4 + 1; before, 13–15 and 25–27 rows were 4–7% slower). With the weights in cache the extra sweep costs 10–30%, hence {@link #weightsStream}.
     * Up to {@value #MC} rows (one row block: each panel block read from DRAM once, by its first sweep; more rows re-read
     * each GEMM's weights from the L3 for every further row block, where one row first costs 3%): 40 rows −5%, 64 rows
     * −3%, 100 and 128 rows −1% (StreamedWeightsGemm, alternated twice); whole forwards b1×s128 on 1 thread (WhereTimeGoes,
     * CPU time, A B A B, loaded machine) all-MiniLM-L6-v2's GEMMs −4 to −5% (forward 13.02–13.39 against 13.52–14.17 ms),
     * e5-small-v2's −3 to −4% (forward 26.19–27.15 against 27.08–28.10 ms). Until the thirteenth session it stopped at 32.
     * The system property {@value #ONE_ROW_SWEEP_PROPERTY} overrides it (0 turns it off).
     */
    static final int ONE_ROW_SWEEP_MAX_ROWS = Integer.getInteger(SimdBackend.ONE_ROW_SWEEP_PROPERTY, MC);

    /** System property: the most rows of a GEMM whose panel blocks are first swept by one row (see {@link #ONE_ROW_SWEEP_MAX_ROWS}). */
    public static final String ONE_ROW_SWEEP_PROPERTY = "jformers.simd.oneRowSweepMaxRows";

    /** {@link #ONE_ROW_SWEEP_MAX_ROWS} for this backend; not final, for A/B runs in one process. */
    int oneRowSweepMaxRows = ONE_ROW_SWEEP_MAX_ROWS;

    /**
     * Whether a GEMM's first K block starts its tiles from the bias ({@link Kernels#gemmTile6From} and the shorter
     * tiles' and one-row loop's From forms, init row stride 0) instead of from a copy of the bias written into Y
     * before the tiles: the same sums (bias + Σ in the order of t), one pass over Y less. Where the width has 6-row
     * tiles (512 bits) and they are on ({@link #SIX_ROW_TILE_MAX_ROWS}); elsewhere, and for a panel that runs past the
     * output's width, the copy stays. Measured (#20x,
     * 1 thread, CPU time, alternated with the copy in one process, three processes; docs/benchmarks.md, fourteenth
     * session): MiniLM's GEMMs as a forward calls them (linear, recycled outputs, weights streamed) 0 to −4% (QKV,
     * attention output, FFN in), FFN out −0.6 to −2.9%; BERT-base's +0.6 to −3.6%; a whole MiniLM layer −0.7 to −1.6%,
     * BERT-base's −0.4 to −0.7% (EncoderParts parts 15 and 16, five and two processes). The system property
     * {@value #BIAS_IN_TILES_PROPERTY} = false turns it off (A/B).
     */
    static final boolean BIAS_IN_TILES = Boolean.parseBoolean(System.getProperty(SimdBackend.BIAS_IN_TILES_PROPERTY, "true"));

    /** System property: whether the first K block's tiles start from the bias (see {@link #BIAS_IN_TILES}). */
    public static final String BIAS_IN_TILES_PROPERTY = "jformers.simd.biasInTiles";

    /** {@link #BIAS_IN_TILES} for this backend; not final, for A/B runs in one process. */
    boolean biasInTiles = BIAS_IN_TILES;

    /**
     * The bytes of weights past which this backend takes its weights to stream from memory at every use: the
     * last-level cache's size (Linux's /sys/devices/system/cpu/cpu0/cache; 32 MiB where it cannot be read), or the
     * system property {@value #CACHE_BYTES_PROPERTY}. A model whose weights are larger (all-MiniLM-L6-v2: 42 MB in
     * float32) reads them all from DRAM each forward; a smaller one finds them in the L3 from the forward before.
     */
    static final long LAST_LEVEL_CACHE_BYTES = System.getProperty(SimdBackend.CACHE_BYTES_PROPERTY) != null
            ? Long.getLong(SimdBackend.CACHE_BYTES_PROPERTY, 32L << 20) : lastLevelCacheBytes();

    /** System property: the bytes of the last-level cache (see {@link #LAST_LEVEL_CACHE_BYTES}). */
    public static final String CACHE_BYTES_PROPERTY = "jformers.simd.cacheBytes";

    /** {@link #LAST_LEVEL_CACHE_BYTES} for this backend; not final, for tests and A/B runs. */
    long streamedWeightBytes = LAST_LEVEL_CACHE_BYTES;

    /**
     * Bytes of the weights this backend has packed ({@link #prepareLinear}, and {@link #repackLinear} where it cannot
     * reuse the previous weight's arrays). Never taken back, because nothing tells a backend that a weight is gone:
     * {@link dev.jformers.core.LinearWeight} has no close, and closing a model closes only a backend the model created
     * itself (AutoModels.release), whose count goes with it; a backend passed in by the caller outlives the model and
     * its weights are left to the garbage collector. So a caller's backend that loads many small models one after the
     * other ends up treating them as streamed (a few-row GEMM then pays up to 30%); counting down would first need a
     * release call in {@link dev.jformers.core.Backend}.
     */
    private final AtomicLong packedWeightBytes = new AtomicLong();

    /** Whether this backend's weights are more than the last-level cache holds, so that each use reads them from DRAM. */
    boolean weightsStream() {
        return packedWeightBytes.get() > streamedWeightBytes;
    }

    /** The largest cache Linux lists for CPU 0, in bytes; 32 MiB if none can be read. */
    static long lastLevelCacheBytes() {
        long largest = 0;
        for (int index = 0; index < 8; index++) {
            java.nio.file.Path size = java.nio.file.Path.of("/sys/devices/system/cpu/cpu0/cache/index" + index + "/size");
            try {
                String text = java.nio.file.Files.readString(size).trim().toUpperCase(Locale.ROOT);
                long unit = text.endsWith("K") ? 1L << 10 : text.endsWith("M") ? 1L << 20 : text.endsWith("G") ? 1L << 30 : 1;
                largest = Math.max(largest, Math.multiplyExact(Long.parseLong(unit == 1 ? text : text.substring(0, text.length() - 1)), unit));
            } catch (java.io.IOException | RuntimeException e) {
                break;   // no such index (or not Linux)
            }
        }
        return largest > 0 ? largest : 32L << 20;
    }

    /**
     * A weight gradient's GEMM (A = dyᵀ read from dy [N, out]: {@link #gemm}'s {@code transposedX}) packs each block
     * of A (kc rows of dy, the block's columns of each) into strips of {@link Kernels#MR} rows (and 6, see
     * {@link #sixRowStrips}; {@link Kernels#packTransposedA}) and runs a tile of its own over them ({@link Kernels#gemmTileStrip}). Read in
     * place, the 4 × 4 tile took each step's 4 values m floats after the last — a stride the JIT cannot bound ahead,
     * so each step kept its bounds checks — and a line of its own per step. In a strip the stride is the constant 4.
     * {@code BackwardGemmParts}, CPU time of one thread at MiniLM's shapes: dW 94–100 → 99–103 GFLOP/s (forward
     * 105–107); strips read by the variable-stride tile ran no faster (90). The same products in the same order:
     * the same bits. Not final, for A/B runs in one process.
     */
    boolean copyTransposedA = true;

    /**
     * With {@link #copyTransposedA}: strips of 6 rows and {@link Kernels#gemmTileStrip}'s 6 × 4 tile, where the width
     * has one, for all but the last rows of each block (see {@link #SIX_ROW_TILE_MAX_ROWS}: why the taller tile; its
     * property set to 0 turns these off too). The same products in the same order: the same bits. Not final, for A/B
     * runs in one process.
     */
    boolean sixRowStrips = true;

    /**
     * Counted only when {@value #SIX_ROW_TILE_PROPERTY} sets a limit (by default every GEMM takes 6-row tiles and
     * nothing is counted): the GEMMs (X read row by row) this backend has run with at most {@link #sixRowTileMaxRows}
     * rows, and with more. The 6-row tile then serves only the first kind, so it is used only while they are not the
     * minority: where they are (a training step: 4096-row GEMMs and a 32-row pooler, 48 calls of the 6-row tile a
     * step), C2 compiled the tile only in about the fifth step, and until then it ran in the interpreter or C1, where
     * every vector operation allocates its result: the pooler's 32 × 384 × 384 product and its backward took 5–13 ms
     * and 20–45 MB a step instead of ~0.5 ms. The 4-row tile that the large GEMMs keep hot does those rows instead — the same FMAs in the
     * same order, the same bits.
     */
    private final AtomicLong fewRowGemms = new AtomicLong(), manyRowGemms = new AtomicLong();

    /**
     * Elements per call of an activation's backward kernel, so that a thread's share (millions of elements) is not
     * one call: a loop that runs that long is compiled on-stack (OSR) while the call is still running, a second
     * compilation of its own. (This did not cause GELU's backward to box its vectors in some processes, as was once
     * thought: that was C2's node budget, see VectorKernels.geluLoop.)
     */
    static final int BACKWARD_CHUNK = 1 << 16;

    private final Kernels kernels;
    final WorkerPool pool;   // package-private for benchmarks (GemmThreads +yshared)
    private final int kcBlock;
    private final PackedLinear.Storage weightStorage;

    /** All available processors, the width from {@value #BITS_PROPERTY} or the preferred species. */
    public SimdBackend() {
        this(0, 0);
    }

    /**
     * @param threads    worker threads (the caller counts as one); 0 means all available processors
     * @param vectorBits 128, 256, 512, {@link #SCALAR_BITS} for plain loops, or 0 for the default
     *                   ({@value #BITS_PROPERTY}, else the preferred species)
     */
    public SimdBackend(int threads, int vectorBits) {
        this(threads, vectorBits, requestedWeightStorage());
    }

    /** {@link #SimdBackend(int, int)} keeping float weights as {@code weightStorage} says (tests, benchmarks). */
    SimdBackend(int threads, int vectorBits, PackedLinear.Storage weightStorage) {
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be ≥ 0, got " + threads);
        }
        this.kernels = Kernels.forBits(vectorBits == 0 ? defaultBits() : vectorBits);
        this.pool = new WorkerPool(threads == 0 ? Runtime.getRuntime().availableProcessors() : threads);
        this.kcBlock = Math.max(16, PANEL_BLOCK_BYTES / (4 * kernels.panelWidth()));
        this.weightStorage = weightStorage;
    }

    /** What {@value #WEIGHTS_PROPERTY} asks for: "bf16", "int8", or "f32" / unset (as the checkpoint has them). */
    static PackedLinear.Storage requestedWeightStorage() {
        String prop = System.getProperty(WEIGHTS_PROPERTY);
        if (prop == null || prop.isBlank()) {
            return PackedLinear.Storage.F32;
        }
        return switch (prop.trim().toLowerCase(Locale.ROOT)) {
            case "bf16", "bfloat16" -> PackedLinear.Storage.BF16;
            case "int8", "i8", "q8_0" -> PackedLinear.Storage.INT8;
            case "f32", "float32", "fp32" -> PackedLinear.Storage.F32;
            default -> throw new JformersException(WEIGHTS_PROPERTY + " must be f32, bf16 or int8, got '" + prop + "'");
        };
    }

    /** The width {@value #BITS_PROPERTY} names, else the preferred species' (scalar if that is under 128 bits). */
    public static int defaultBits() {
        String prop = System.getProperty(BITS_PROPERTY);
        if (prop == null || prop.isBlank()) {
            int preferred = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
            return preferred >= 128 ? Math.min(preferred, 512) : SCALAR_BITS;
        }
        String p = prop.trim().toLowerCase(Locale.ROOT);
        return switch (p) {
            case "scalar", "32" -> SCALAR_BITS;
            case "128", "256", "512" -> Integer.parseInt(p);
            default -> throw new JformersException(BITS_PROPERTY + " must be 128, 256, 512 or scalar, got '" + prop + "'");
        };
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String describe() {
        String width = kernels.bits() == SCALAR_BITS ? "scalar loops"
                : "Vector API " + kernels.bits() + "-bit (" + kernels.lanes() + " floats)";
        return "cpu (" + width + ", " + pool.threads() + (pool.threads() == 1 ? " thread" : " threads")
                + switch (weightStorage) {
                    case F32 -> ")";
                    case BF16 -> ", bf16 weights)";
                    case INT8 -> ", int8 weights)";
                };
    }

    /** Vector width in bits ({@link #SCALAR_BITS} for plain loops). */
    public int vectorBits() {
        return kernels.bits();
    }

    public int threads() {
        return pool.threads();
    }

    @Override
    public void close() {
        pool.close();
        recycled.clear();
    }

    // ---------------------------------------------------------------- scratch arrays

    /**
     * Per-thread work arrays, grown on demand and reused, so the hot loops allocate nothing. They keep
     * the largest size a thread has needed (an attention head's Kᵀ and score rows, matmul's B).
     */
    private static final class Scratch {
        private final float[][] arrays = new float[5][];

        float[] get(int slot, int size) {
            float[] a = arrays[slot];
            if (a == null || a.length < size) {
                a = new float[Math.max(size, 16)];
                arrays[slot] = a;
            }
            return a;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    // ---------------------------------------------------------------- recycled outputs

    /**
     * Arrays handed back through {@link #recycle}, shared by this backend's callers (a pop hands an array to exactly
     * one of them): the next output reuses one instead of allocating. Binned by size ({@link #binOf}: exact lengths
     * up to {@value #EXACT_LENGTHS} floats, above that 8 bins per power of two), and an output takes the smallest
     * waiting array of its length up to about twice it: the Trainer pads each batch to its longest row, so a step's
     * shapes change from batch to batch, and an exact-length pool would serve none of a new shape. An output in a
     * longer array is a view of its first floats whose segment is exactly as long ({@link Tensor#wholeArray} tells
     * it from a narrowed view). Bounded: at most {@value #RECYCLED_PER_LENGTH} arrays per bin and
     * {@value #RECYCLED_FLOATS} floats (256 MB) in all, however many threads use it; past the bound the arrays of
     * the bins used longest ago go first (stale shapes), then the newcomer is dropped.
     */
    private final Map<Integer, Bin> recycled = new ConcurrentHashMap<>();
    private final AtomicLong recycledFloats = new AtomicLong();
    /** Counts takes and hand-backs: a bin's {@link Bin#lastUsed} on this clock says how stale its arrays are. */
    private final AtomicLong clock = new AtomicLong();

    /** The waiting arrays of one bin, newest first, and when the bin last served or took one. */
    private static final class Bin {
        final ConcurrentLinkedDeque<float[]> arrays = new ConcurrentLinkedDeque<>();
        volatile long lastUsed;
    }

    static final int RECYCLED_PER_LENGTH = 16;   // a scope hands back a whole block's outputs at once
    static final long RECYCLED_FLOATS = 64L << 20;
    /** Arrays up to this many floats are binned by their exact length (small ones: rounding would gain nothing). */
    static final int EXACT_LENGTHS = 4096;

    /** The bin of an array of n floats: n itself up to {@value #EXACT_LENGTHS}, else n rounded down to 1/8 of its power of two. */
    static int binOf(int n) {
        if (n <= EXACT_LENGTHS) {
            return n;
        }
        int step = Integer.highestOneBit(n) >>> 3;
        return n - n % step;
    }

    /** The bin after {@code bin} (a value of {@link #binOf}): every array in it is longer than any in {@code bin}. */
    private static int nextBin(int bin) {
        return bin < EXACT_LENGTHS ? bin + 1 : bin + (Integer.highestOneBit(bin) >>> 3);
    }

    /** Tensor of {@code shape} over the first n floats of {@code a} (all of it when it is that long). */
    private static Tensor wrapFirst(float[] a, int n, int... shape) {
        MemorySegment all = MemorySegment.ofArray(a);
        return Tensor.wrap(a.length == n ? all : all.asSlice(0, (long) n * Float.BYTES), DType.F32, shape);
    }

    /**
     * An F32 output tensor in a float[] of its own, recycled when one of its length (or up to about twice it) is
     * available. Its contents are NOT zeroed: every op that takes one writes all of it.
     */
    private Tensor output(int... shape) {
        int n = HostTensors.arrayLength(shape);
        float[] a = n > 0 ? takeRecycled(n, false) : null;
        Tensor t = a == null ? HostTensors.newF32(shape) : wrapFirst(a, n, shape);
        OutputScope scope = scopes.get().peek();
        if (scope != null) {
            scope.made.add(t.floatArray());
        }
        return t;
    }

    /**
     * A zero-filled tensor, in a recycled array when one of its length (or up to about twice it) is waiting
     * (attention's probabilities, the autograd's gradients). Unlike an operation's output it belongs to no scope:
     * the caller decides its life.
     */
    @Override
    public Tensor zeros(int... shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] a = n > 0 && n <= Integer.MAX_VALUE - 16 ? takeRecycled((int) n, false) : null;
        if (a == null) {
            return super.zeros(shape);   // checks the shape
        }
        Arrays.fill(a, 0, (int) n, 0f);
        return wrapFirst(a, (int) n, shape);
    }

    /**
     * A recycled array of n floats (contents undefined) — exactly n, or when {@code exact} is false the shortest
     * waiting one of n up to about 2n — or null when none is waiting.
     */
    private float[] takeRecycled(int n, boolean exact) {
        // Small lengths (one bin per length) are looked up exactly: a search up to 2n would probe thousands of
        // bins on a miss, to save an allocation of at most 16 KB.
        int first = binOf(n), last = exact || n <= EXACT_LENGTHS ? first : binOf(2 * Math.min(n, Integer.MAX_VALUE / 2));
        for (int bin = first; bin <= last && bin > 0; bin = nextBin(bin)) {
            Bin b = recycled.get(bin);
            if (b == null) {
                continue;
            }
            float[] a = null;
            if (bin >= n && !exact) {   // every array of this bin is long enough
                a = b.arrays.pollFirst();
            } else {   // the first bin holds lengths from bin on: look for one that fits
                for (float[] c : b.arrays) {
                    if ((exact ? c.length == n : c.length >= n) && b.arrays.removeFirstOccurrence(c)) {
                        a = c;
                        break;
                    }
                }
            }
            if (a != null) {
                recycledFloats.addAndGet(-a.length);
                b.lastUsed = clock.incrementAndGet();
                return a;
            }
        }
        return null;
    }

    /** Scratch of exactly n floats for the length of one operation (contents undefined): hand it back with {@link #recycle(float[])}. */
    private float[] scratchArray(int n) {
        float[] a = takeRecycled(n, true);
        return a != null ? a : new float[n];
    }

    @Override
    public void recycle(Tensor t) {
        float[] a = t.wholeArray();   // a view into an array is not taken
        OutputScope scope = scopes.get().peek();
        if (a != null && scope != null) {
            scope.made.remove(a);   // handed back now: its scope must not hand it back a second time
        }
        recycle(a);
    }

    /** Scopes open on each thread, innermost first: an output made while one is open belongs to it. */
    private final ThreadLocal<ArrayDeque<OutputScope>> scopes = ThreadLocal.withInitial(ArrayDeque::new);

    @Override
    public Scope scope() {
        OutputScope s = new OutputScope(scopes.get());
        s.open.push(s);
        return s;
    }

    /** The arrays of the outputs made in one scope; on close the ones not kept go back to the pool. */
    private final class OutputScope implements Scope {
        private final ArrayDeque<OutputScope> open;
        private final List<float[]> made = new ArrayList<>();
        private final Set<float[]> kept = Collections.newSetFromMap(new IdentityHashMap<>());

        OutputScope(ArrayDeque<OutputScope> open) {
            this.open = open;
        }

        @Override
        public Tensor keep(Tensor t) {
            float[] a = t == null ? null : t.floatArray();
            if (a != null) {
                kept.add(a);
            }
            return t;
        }

        @Override
        public void close() {
            if (open.peek() != this) {
                throw new IllegalStateException("scopes close innermost first, on the thread that opened them");
            }
            open.pop();
            OutputScope outer = open.peek();
            for (float[] a : made) {
                if (!kept.contains(a)) {
                    recycle(a);
                } else if (outer != null) {
                    outer.made.add(a);   // the enclosing block decides whether it lives on
                }
            }
        }
    }

    /** The bound on recycled floats: {@value #RECYCLED_FLOATS}, or what {@link #recycleCapacity} raised it to. */
    private volatile long recycleCapacity = RECYCLED_FLOATS;

    /** Raised for training (no bound per bin then: one length may be most of a forward's activations). */
    @Override
    public void recycleCapacity(long floats) {
        recycleCapacity = Math.max(RECYCLED_FLOATS, floats);
        evictStale(null, recycleCapacity);   // over a lowered bound: let the excess go, stalest first
    }

    private void recycle(float[] a) {
        if (a == null || a.length == 0) {
            return;
        }
        Bin bin = recycled.computeIfAbsent(binOf(a.length), len -> new Bin());
        long capacity = recycleCapacity;
        if ((capacity == RECYCLED_FLOATS && bin.arrays.size() >= RECYCLED_PER_LENGTH) || bin.arrays.contains(a)) {
            return;
        }
        bin.lastUsed = clock.incrementAndGet();
        if (recycledFloats.addAndGet(a.length) > capacity && !evictStale(bin, capacity)) {
            recycledFloats.addAndGet(-a.length);
            return;
        }
        bin.arrays.addFirst(a);
    }

    /**
     * Lets go of waiting arrays, those of the bin used longest ago first (never {@code keep}'s), until the pool holds
     * at most {@code capacity} floats; false when only {@code keep}'s arrays are left and it still holds more.
     */
    private boolean evictStale(Bin keep, long capacity) {
        while (recycledFloats.get() > capacity) {
            Bin stalest = null;
            for (Bin b : recycled.values()) {
                if (b != keep && !b.arrays.isEmpty() && (stalest == null || b.lastUsed < stalest.lastUsed)) {
                    stalest = b;
                }
            }
            if (stalest == null) {
                return false;
            }
            float[] old = stalest.arrays.pollLast();
            if (old != null) {
                recycledFloats.addAndGet(-old.length);
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- linear and matmul

    @Override
    public LinearWeight prepareLinear(Tensor weight, Tensor bias, WeightLayout layout) {
        PackedLinear packed = PackedLinear.pack(weight, bias, layout, kernels.panelWidth(), pool, weightStorage);
        packedWeightBytes.addAndGet(packed.bytes());
        return packed;
    }

    /** Packed into {@code previous}'s panels (its storage kept): training's re-pack after each step allocates nothing. */
    @Override
    public LinearWeight repackLinear(LinearWeight previous, Tensor weight, Tensor bias, WeightLayout layout) {
        PackedLinear old = previous instanceof PackedLinear p ? p : null;
        PackedLinear packed = PackedLinear.repack(old, weight, bias, layout, kernels.panelWidth(), pool, weightStorage);
        if (packed != old) {   // packed afresh (no previous, or one of another shape, panel width or storage): counted as prepareLinear does
            packedWeightBytes.addAndGet(packed.bytes());
        }
        return packed;
    }

    @Override
    public Tensor linear(Tensor x, LinearWeight lw) {
        return linear(x, lw, null);
    }

    /**
     * The activation runs in place over the product (no second tensor, no copy), in the GEMM's epilogue:
     * each task applies it to its own block (rows × its panels' columns) once the block is final, while
     * the block is still in that core's cache — no second pass over Y and no second hand-off to the
     * threads, which on 2 threads also read half of Y from the other core (the GEMM splits a 128-row Y
     * by columns, a separate pass split it by rows). Applying it per 64-column tile as each became final
     * measured slower (2 ns per element against 1 ns for whole rows).
     */
    @Override
    public Tensor linear(Tensor x, LinearWeight lw, Activation activation) {
        PackedLinear w = packedHere(lw);
        int[] outShape = linearOutputShape(x, w);
        Tensor xc = HostTensors.contiguousOnHeap(x);
        Tensor y = output(outShape);
        long rows = HostTensors.rows(xc);
        if (rows > 0 && w.out > 0) {
            gemm(xc.floatArray(), (int) xc.arrayOffset(), (int) rows, w, y.floatArray(), 0, false, false, activation, null);
        }
        return y;
    }

    /**
     * Residual add and LayerNorm in the GEMM's epilogue (dropout is the identity here): a task that owns whole rows
     * (all panels: one thread, or a batch split by row blocks) adds the residual to each row of its block and normalizes it as soon
     * as the block is final, while it is in that core's cache — no separate pass, no second hand-off to the threads.
     * When the threads share the rows by panels, the rows are finished after the product, as {@link #addLayerNorm}
     * does. The same kernels in the same order as linear + addLayerNorm: the same bits.
     */
    @Override
    public Tensor linearAddLayerNorm(Tensor x, LinearWeight lw, float dropout, Tensor residual, Tensor weight, Tensor bias,
                                     float eps) {
        PackedLinear w = packedHere(lw);
        int[] outShape = linearOutputShape(x, w);
        if (!Arrays.equals(outShape, residual.shape())) {
            throw ShapeException.mismatch("linearAddLayerNorm", outShape, residual.shape(), "the residual must have the output's shape");
        }
        if (weight.numel() != w.out || bias.numel() != w.out) {
            throw ShapeException.mismatch("linearAddLayerNorm", outShape, weight.shape(), "weight and bias must be [" + w.out + "]");
        }
        Tensor xc = HostTensors.contiguousOnHeap(x), rc = HostTensors.contiguousOnHeap(residual);
        Tensor y = output(outShape);
        long rows = HostTensors.rows(xc);
        if (rows > 0 && w.out > 0) {
            RowNorm norm = new RowNorm(rc.floatArray(), (int) rc.arrayOffset(), HostTensors.vector(weight), HostTensors.vector(bias), eps);
            gemm(xc.floatArray(), (int) xc.arrayOffset(), (int) rows, w, y.floatArray(), 0, false, false, null, norm);
        }
        return y;
    }

    /** lw as this backend's packed weight, or an error if another backend (or width) prepared it. */
    private PackedLinear packedHere(LinearWeight lw) {
        if (!(lw instanceof PackedLinear w) || w.panelWidth != kernels.panelWidth()) {
            throw new JformersException("linear: weight was not prepared by this backend (" + describe() + ")");
        }
        return w;
    }

    /** x [..., in] → the product's shape [..., out], after checking x's last dimension against the weight. */
    private static int[] linearOutputShape(Tensor x, PackedLinear w) {
        if (x.rank() == 0 || x.dim(-1) != w.in) {
            throw ShapeException.of("linear", "[..., " + w.in + "]", x.shape());
        }
        int[] outShape = x.shape();
        outShape[outShape.length - 1] = w.out;
        return outShape;
    }

    /** What {@link #linearAddLayerNorm}'s epilogue does to each finished row of Y: + residual, then LayerNorm. */
    private record RowNorm(float[] residual, int residualOff, float[] gamma, float[] beta, float eps) {
    }

    /**
     * Y[m, out] = X[m, in] · B + bias, X and Y row-major arrays from {@code xOff} / {@code yOff},
     * computed in place: the register tile reads A straight from X's rows and accumulates into Y.
     *
     * <p>Loops, outermost first: task (block of {@value #MC} rows × a range of panels) → the bias into its
     * Y block (with 6-row tiles only the edge panel's columns: the first K block's tiles start from the bias, see
     * {@link #BIAS_IN_TILES}) → K block of kc → panel (its kc × NR block, in L2) → register tile down the rows (the
     * A block, MC × kc, stays in L2 across the panels). A panel that runs past {@code out} (the last
     * one, when NR doesn't divide it) goes through a scratch tile, so no write leaves the row.
     */
    void gemm(float[] x, int xOff, int m, PackedLinear w, float[] y, int yOff) {   // package-private for benchmarks
        gemm(x, xOff, m, w, y, yOff, false);
    }

    /** {@link #gemm}; with {@code accumulate}, Y += X·B (Y's values kept, no bias: a gradient's dW). */
    void gemm(float[] x, int xOff, int m, PackedLinear w, float[] y, int yOff, boolean accumulate) {
        gemm(x, xOff, m, w, y, yOff, accumulate, false, null, null);
    }

    /** {@link #gemm} with {@code transposedX} and {@code activation} (see the full form). */
    void gemm(float[] x, int xOff, int m, PackedLinear w, float[] y, int yOff, boolean accumulate, boolean transposedX,
              Activation activation) {
        gemm(x, xOff, m, w, y, yOff, accumulate, transposedX, activation, null);
    }

    /**
     * {@link #gemm}; with {@code transposedX}, X is given as Xᵀ [in, m] row-major from {@code xOff} (row r,
     * column t of X at x[xOff + t·m + r]) and the tiles read it in place; then {@code activation} (unless
     * null) over each task's block of Y once it is final, and {@code norm} (unless null) over each finished row.
     */
    void gemm(float[] x, int xOff, int m, PackedLinear w, float[] y, int yOff, boolean accumulate, boolean transposedX,
              Activation activation, RowNorm norm) {
        int k = w.in, n = w.out, nr = w.panelWidth, panels = w.panelCount, mr = Kernels.MR;
        boolean skinny = m <= SKINNY_ROWS;
        int kc = skinny ? Math.max(1, k) : Math.min(kcBlock, Math.max(1, k));
        int threads = (long) m * n * k < GEMM_PARALLEL_THRESHOLD ? 1 : pool.threads();
        int mc = skinny ? m : transposedX ? balancedRowBlock(m, threads) : MC;
        int rowBlocks = (m + mc - 1) / mc;
        // a weight gradient's transposed A is packed block by block into strips of 6 and MR rows (see copyTransposedA)
        boolean strips = transposedX && !skinny && copyTransposedA;
        // 6-row tiles where the width has them (every GEMM by default; with a row limit set, see fewRowGemms); six = a
        // number of rows no block reaches turns them off
        int six = !transposedX && sixRowTilesWarm(m) && kernels.sixRowTiles() > 0 ? kernels.sixRowTiles() : MC;
        // one row block (≤ MC rows), float weights that stream from memory: each panel block's first sweep is one row
        // (sweepOneRowFirst)
        // (six == 6 only where VectorKernels has its 6-row tile, which comes with gemmTileShortFrom's 1- to 3-row tiles)
        boolean oneRowFirst = six == 6 && w.panels != null && m <= oneRowSweepMaxRows && weightsStream();
        // the first K block's tiles start from the bias (gemmTile6From …): no copy of it into Y before them
        // (k > 0: with no K block the copy is all of Y)
        boolean biasTiles = biasInTiles && six == 6 && !accumulate && k > 0;
        // A GEMV: runs of panels, shrinking toward the end (gemvRunStarts). Few row blocks: give every thread its own
        // range of panels as well.
        int[] runStarts = threads > 1 && skinny ? w.gemvRunStarts(threads) : null;
        int colChunks = threads == 1 ? 1
                : runStarts != null ? runStarts.length - 1
                : rowBlocks < 4 * threads ? Math.min(panels, Math.max(1, gemmChunksPerThread) * threads) : 1;
        int tasks = threads == 1 ? 1 : rowBlocks * colChunks;
        int blocksPerTask = threads == 1 ? rowBlocks : 1;
        pool.parallelFor(tasks, task -> {
            int rb0 = (task / colChunks) * blocksPerTask, cc = task % colChunks;
            int p0 = runStarts != null ? runStarts[cc] : (int) ((long) panels * cc / colChunks);
            int p1 = runStarts != null ? runStarts[cc + 1] : (int) ((long) panels * (cc + 1) / colChunks);
            int col0 = p0 * nr, cols = Math.min(n, p1 * nr) - col0;
            float[] edge = null;   // the scratch tile of a panel that runs past n
            for (int rb = rb0; rb < rb0 + blocksPerTask; rb++) {
                int r0 = rb * mc, rows = Math.min(mc, m - r0);
                boolean gemv = rows == 1 && !transposedX;
                // GEMV: whole panels [p0, pFull) in one streaming loop below, the edge one with the tiles
                int pFull = gemv ? Math.max(p0, Math.min(p1, n / nr)) : p0;   // panels before pFull are done
                // the GEMV's whole panels read the bias as they store their sums: only the columns after them need it in y
                int biasFrom = pFull * nr;
                if (biasTiles && !gemv) {   // only the edge panel's columns (past the last whole panel) need it in y
                    biasFrom = Math.max(col0, Math.min(p1, n / nr) * nr);
                }
                for (int r = 0; r < rows && !accumulate; r++) {
                    System.arraycopy(w.bias, biasFrom, y, yOff + (r0 + r) * n + biasFrom, col0 + cols - biasFrom);
                }
                // a weight gradient's rows in 6-row strips: in pairs (12 = lcm(6, MR) rows), so that the rows left are
                // those of 4-row strips alone and the one-row loop gets the same rows whatever the block (same bits on
                // any thread count)
                int sixRows = strips && sixRowStrips && sixRowTileMaxRows > 0 && kernels.sixRowTiles() == 6
                        ? (rows - rows % mr) / 12 * 12 : 0;
                if (gemv) {   // y = bias + sums, or y += sums
                    float[] base = accumulate ? y : w.bias;
                    int baseOff = accumulate ? yOff + r0 * n : 0;
                    if (w.bf16()) {
                        kernels.gemvBf16(x, xOff + r0 * k, k, w.halfPanels, p0, pFull, y, yOff + r0 * n, base, baseOff);
                    } else if (w.int8()) {
                        kernels.gemvInt8(x, xOff + r0 * k, k, w.quantPanels, w.scales, p0, pFull, y, yOff + r0 * n, base, baseOff);
                    } else {
                        kernels.gemv(x, xOff + r0 * k, k, w.panels, p0, pFull, y, yOff + r0 * n, base, baseOff);
                    }
                }
                for (int t0 = 0; t0 < k; t0 += kc) {
                    int kb = Math.min(kc, k - t0), aBlock = transposedX ? xOff + t0 * m + r0 : xOff + r0 * k + t0;
                    // Xᵀ's block packed into strips, one every aTile floats (padded by a cache line: 4·kc floats would
                    // put every strip's step t in one L1 set): rows [0, sixRows) in strips of 6, the rest of MR
                    int aTile = (sixRows > 0 ? 6 : mr) * kb + 16;
                    float[] at = strips ? SCRATCH.get().get(4, stripCount(rows, sixRows) * aTile) : null;
                    if (strips) {
                        if (sixRows > 0) {
                            kernels.packTransposedA(x, aBlock, m, sixRows, kb, at, 0, aTile, 6);
                        }
                        kernels.packTransposedA(x, aBlock + sixRows, m, rows - sixRows, kb, at, sixRows / 6 * aTile, aTile, mr);
                    }
                    for (int p = pFull; p < p1; p++) {
                        int bOff = w.panelRow(p, t0), c0 = yOff + r0 * n + p * nr;
                        float[] b = w.panels;
                        if (b == null) {   // bf16 or int8: widen this K block of the panel once, for all the rows
                            b = SCRATCH.get().get(3, kb * nr);
                            if (w.bf16()) {
                                kernels.widenBf16(w.halfPanels, bOff, b, 0, kb * nr);
                            } else {
                                w.dequantise(kernels, p, t0, kb, b);
                            }
                            bOff = 0;
                        }
                        // where this K block's tiles start: Y's block, or the bias (the first K block, biasTiles)
                        boolean fromBias = biasTiles && t0 == 0;
                        float[] init = fromBias ? w.bias : y;
                        int initOff = fromBias ? p * nr : c0, initLd = fromBias ? 0 : n;
                        if ((p + 1) * nr <= n) {
                            if (strips) {
                                for (int r = 0, h; r < rows; r += h) {
                                    h = stripHeight(r, sixRows);
                                    kernels.gemmTileStrip(at, stripIndex(r, sixRows) * aTile, h, b, bOff, kb, y, c0 + r * n, n,
                                            Math.min(h, rows - r));
                                }
                            } else if (transposedX) {
                                kernels.gemmTileTransposed(x, aBlock, m, b, bOff, kb, y, c0, n, rows);
                            } else if (oneRowFirst) {
                                sweepOneRowFirst(x, aBlock, k, b, bOff, kb, init, initOff, initLd, y, c0, n, rows);
                            } else if (six == 6) {   // 6-row tiles in pairs (the rows left are those of 4-row tiles alone), from init
                                int r = 0;
                                for (; r + 2 * six <= rows; r += 2 * six) {
                                    kernels.gemmTile6From(x, aBlock + r * k, k, b, bOff, kb, init, initOff + r * initLd, initLd, y, c0 + r * n, n);
                                    kernels.gemmTile6From(x, aBlock + (r + six) * k, k, b, bOff, kb, init, initOff + (r + six) * initLd,
                                            initLd, y, c0 + (r + six) * n, n);
                                }
                                for (; r < rows; r += mr) {
                                    kernels.gemmTileFrom(x, aBlock + r * k, k, b, bOff, kb, init, initOff + r * initLd, initLd, y, c0 + r * n, n,
                                            Math.min(mr, rows - r));
                                }
                            } else {   // 4-row tiles (no 6-row tile at this width, or 6-row tiles off: sixRowTileMaxRows), from Y
                                for (int r = 0; r < rows; r += mr) {
                                    kernels.gemmTile(x, aBlock + r * k, k, b, bOff, kb, y, c0 + r * n, n, Math.min(mr, rows - r));
                                }
                            }
                        } else {
                            int valid = n - p * nr;
                            if (edge == null) {
                                edge = new float[6 * nr];
                            }
                            for (int r = 0, h; r < rows; r += h) {
                                h = strips ? stripHeight(r, sixRows) : mr;
                                int tileRows = Math.min(h, rows - r);
                                for (int i = 0; i < tileRows; i++) {
                                    System.arraycopy(y, c0 + (r + i) * n, edge, i * nr, valid);
                                }
                                if (transposedX) {
                                    if (strips) {
                                        kernels.gemmTileStrip(at, stripIndex(r, sixRows) * aTile, h, b, bOff, kb, edge, 0, nr, tileRows);
                                    } else {
                                        kernels.gemmTileTransposed(x, aBlock + r, m, b, bOff, kb, edge, 0, nr, tileRows);
                                    }
                                } else {
                                    kernels.gemmTile(x, aBlock + r * k, k, b, bOff, kb, edge, 0, nr, tileRows);
                                }
                                for (int i = 0; i < tileRows; i++) {
                                    System.arraycopy(edge, i * nr, y, c0 + (r + i) * n, valid);
                                }
                            }
                        }
                    }
                }
                for (int r = 0; r < rows && activation != null; r++) {   // epilogue: this block is final
                    kernels.activation(y, yOff + (r0 + r) * n + col0, cols, activation);
                }
                if (norm != null && colChunks == 1) {   // this task owns whole rows: finish them now
                    normRows(norm, y, yOff, n, r0, r0 + rows);
                }
            }
        });
        if (norm != null && colChunks > 1) {   // rows shared by panels between the threads: finish them after the product
            // on every thread (each reads half its rows from the other core's cache, where they were just written)
            int threadsForRows = (long) m * n < PARALLEL_THRESHOLD ? 1 : Math.min(m, pool.threads());
            pool.parallelFor(threadsForRows, task -> normRows(norm, y, yOff, n, m * task / threadsForRows, m * (task + 1) / threadsForRows));
        }
    }

    /**
     * The rows of one panel block when its weights stream from memory ({@link #ONE_ROW_SWEEP_MAX_ROWS}): row 0 alone,
     * the sweep that brings the block in from memory, then 6-row tiles, then 4-, 3- or 2-row tiles for the rest of
     * the rows a tile would take (rows − rows % MR), then the one-row loop for the last rows % MR, as always. Every
     * tile gives each output the same FMAs in the same order, so the bits are those of the 6-row pairs. The tiles
     * start from {@code init} (row r at init[initOff + r·initLd]): Y's block, or the bias in a GEMM's first K block.
     */
    private void sweepOneRowFirst(float[] x, int aOff, int k, float[] b, int bOff, int kb, float[] init, int initOff, int initLd,
                                  float[] y, int cOff, int n, int rows) {
        int tiled = rows - rows % Kernels.MR, r = 0;
        if (tiled > 0) {
            kernels.gemmTileShortFrom(x, aOff, k, b, bOff, kb, init, initOff, initLd, y, cOff, n, 1);
            r = 1;
        }
        for (; tiled - r >= 8; r += 6) {   // tiled − 1 is odd (tiled: a multiple of MR = 4), so this leaves 3, 5 or 7 rows
            kernels.gemmTile6From(x, aOff + r * k, k, b, bOff, kb, init, initOff + r * initLd, initLd, y, cOff + r * n, n);
        }
        if (tiled - r == 5) {   // 5 = 3 + 2 (not 4 + 1: a one-row tile over cached rows runs at half the FMA rate)
            kernels.gemmTileShortFrom(x, aOff + r * k, k, b, bOff, kb, init, initOff + r * initLd, initLd, y, cOff + r * n, n, 3);
            r += 3;
        } else if (tiled - r >= Kernels.MR) {   // 7 = 4 + 3
            kernels.gemmTileFrom(x, aOff + r * k, k, b, bOff, kb, init, initOff + r * initLd, initLd, y, cOff + r * n, n, Kernels.MR);
            r += Kernels.MR;
        }
        if (r < tiled) {
            kernels.gemmTileShortFrom(x, aOff + r * k, k, b, bOff, kb, init, initOff + r * initLd, initLd, y, cOff + r * n, n, tiled - r);
            r = tiled;
        }
        if (r < rows) {   // the one-row loop
            kernels.gemmTileFrom(x, aOff + r * k, k, b, bOff, kb, init, initOff + r * initLd, initLd, y, cOff + r * n, n, rows - r);
        }
    }

    /**
     * Rows per block of a weight gradient's GEMM on {@code threads} threads: {@value #MC}, or a little less where the
     * row blocks (one task each) would not split evenly between the threads — dW of MiniLM's query/key/value, 1152
     * rows, was 9 blocks of 128, 5 on one thread and 4 on the other; 10 blocks of 116 split 5 and 5 (where no such
     * size is found, MC). A multiple of {@link Kernels#MR}: each row is in a whole tile or the tail, as with MC, so
     * the bits do not depend on the number of threads.
     */
    static int balancedRowBlock(int m, int threads) {
        int blocks = (m + MC - 1) / MC;
        if (threads <= 1 || blocks < 4 * threads || blocks % threads == 0) {   // fewer blocks: split by panels too
            return MC;
        }
        int mr = Kernels.MR;
        for (int target = (blocks + threads - 1) / threads * threads; target < blocks + 2 * threads; target += threads) {
            int mc = ((m + target - 1) / target + mr - 1) / mr * mr;   // whole tiles: rounding up may lose a block
            if ((m + mc - 1) / mc % threads == 0) {
                return mc;
            }
        }
        return MC;
    }

    // A weight gradient's block of A is packed as rows [0, sixRows) in strips of 6, the rest in strips of MR:

    /** The index of the strip that holds row r (its first row, for the tiles). */
    private static int stripIndex(int r, int sixRows) {
        return r < sixRows ? r / 6 : sixRows / 6 + (r - sixRows) / Kernels.MR;
    }

    /** The height of the strip that starts at row r: 6 or MR (its last rows may be missing). */
    private static int stripHeight(int r, int sixRows) {
        return r < sixRows ? 6 : Kernels.MR;
    }

    /** How many strips a block of {@code rows} rows takes. */
    private static int stripCount(int rows, int sixRows) {
        return stripIndex(rows + Kernels.MR - 1, sixRows);
    }

    /**
     * Counts a GEMM of m rows (X read row by row) and says whether it takes 6-row tiles: always with the default limit
     * (no counting: two shared atomics a GEMM for nothing), else few rows and not the minority.
     */
    private boolean sixRowTilesWarm(int m) {
        if (sixRowTileMaxRows == Integer.MAX_VALUE) {
            return true;
        }
        if (fewRowGemms.get() + manyRowGemms.get() >= SIX_ROW_COUNT_WINDOW) {   // recent calls count: a long training
            fewRowGemms.set(fewRowGemms.get() / 2);                             // phase must not keep short inputs
            manyRowGemms.set(manyRowGemms.get() / 2);                           // off the 6-row tile for ever
        }
        if (m > sixRowTileMaxRows) {
            manyRowGemms.incrementAndGet();
            return false;
        }
        return fewRowGemms.incrementAndGet() >= manyRowGemms.get();
    }

    /** Calls after which both counts of {@link #sixRowTilesWarm} are halved. */
    private static final long SIX_ROW_COUNT_WINDOW = 1 << 16;

    /**
     * Rows [r0, r1) of Y: + the residual's row, then LayerNorm in place — {@link Kernels#addLayerNormRows}, four rows
     * side by side, each with addLayerNorm's kernels' operations in their order (the same bits).
     */
    private void normRows(RowNorm norm, float[] y, int yOff, int n, int r0, int r1) {
        kernels.addLayerNormRows(y, yOff + r0 * n, norm.residual(), norm.residualOff() + r0 * n, n, r1 - r0,
                norm.gamma(), norm.beta(), norm.eps());
    }

    /**
     * Where the runs of a GEMV over {@code panels} panels of {@code panelBytes} bytes each start on {@code threads}
     * threads (run i is panels [starts[i], starts[i + 1])): guided by default, equal runs with {@value #GEMV_RUNS_PROPERTY}
     * = even (see {@link #GEMV_GUIDED_RUNS}). Which thread runs which panels changes no bits: each column's dot product
     * is one thread's, in the same order.
     */
    static int[] gemvRunStarts(int panels, long panelBytes, int threads) {
        if (!GEMV_GUIDED_RUNS) {
            long byBytes = GEMV_RUN_BYTES <= 0 ? 1 : (panels * panelBytes + GEMV_RUN_BYTES - 1) / GEMV_RUN_BYTES;
            int runs = (int) Math.min(panels, Math.max(Math.max(1, GEMV_CHUNKS_PER_THREAD) * threads, byBytes));
            int[] starts = new int[runs + 1];
            for (int i = 0; i <= runs; i++) {
                starts[i] = (int) ((long) panels * i / runs);
            }
            return starts;
        }
        int maxPanels = GEMV_RUN_BYTES <= 0 ? panels : (int) Math.max(1, Math.min(panels, GEMV_RUN_BYTES / Math.max(1, panelBytes)));
        int[] starts = new int[panels + 1];
        int runs = 0;
        for (int p = 0; p < panels; runs++) {
            int left = panels - p;
            p += Math.max(1, Math.min(maxPanels, (left + 2 * threads - 1) / (2 * threads)));
            starts[runs + 1] = p;
        }
        return Arrays.copyOf(starts, runs + 1);
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        int[] d = matmulDims(a, b);
        int batch = d[0], m = d[1], k = d[2], n = d[3];
        boolean bBatched = d[4] == 1;
        Tensor ac = a.toF32(), bc = b.dtype() == DType.F32 ? b : b.toF32();
        Tensor c = Tensor.zeros(DType.F32, matmulOutShape(a, n));
        if (batch == 0 || m == 0 || n == 0) {
            return c;
        }
        MemorySegment as = ac.segment(), bs = bc.segment(), cs = c.segment();
        long sk = bc.stride(-2), sn = bc.stride(-1);
        int threads = (long) batch * m * n * k < PARALLEL_THRESHOLD ? 1 : pool.threads();
        int rowChunks = batch >= threads ? 1 : Math.min(m, threads);
        pool.parallelFor(threads == 1 ? 1 : batch * rowChunks, task -> {
            int p0 = threads == 1 ? 0 : task / rowChunks, p1 = threads == 1 ? batch : p0 + 1;
            int chunk = threads == 1 ? 0 : task % rowChunks;
            int i0 = (int) ((long) m * chunk / rowChunks), i1 = threads == 1 ? m : (int) ((long) m * (chunk + 1) / rowChunks);
            Scratch scratch = SCRATCH.get();
            float[] bp = scratch.get(0, k * n), aRow = scratch.get(1, k), cRow = scratch.get(2, n);
            for (int p = p0; p < p1; p++) {
                // Gather this batch's B (any strides: a transposed view included) into a row-major [k × n] array.
                long bBase = bBatched ? batchOffset(bc, p) : bc.offset();
                for (int t = 0; t < k; t++) {
                    if (sn == 1) {
                        MemorySegment.copy(bs, F32, (bBase + t * sk) * 4, bp, t * n, n);
                    } else {
                        for (int j = 0; j < n; j++) {
                            bp[t * n + j] = bs.getAtIndex(F32, bBase + t * sk + j * sn);
                        }
                    }
                }
                for (int i = i0; i < i1; i++) {
                    long row = (long) p * m + i;
                    MemorySegment.copy(as, F32, (ac.offset() + row * k) * 4, aRow, 0, k);
                    kernels.vecMat(aRow, 0, k, bp, 0, n, n, cRow, 0);
                    MemorySegment.copy(cRow, 0, cs, F32, row * n * 4, n);
                }
            }
        });
        return c;
    }

    /** Storage offset of matrix {@code p} (row-major over the leading dimensions) of a rank ≥ 2 tensor. */
    private static long batchOffset(Tensor t, long p) {
        long off = t.offset();
        for (int dim = t.rank() - 3; dim >= 0; dim--) {
            int size = t.dim(dim);
            off += (p % size) * t.stride(dim);
            p /= size;
        }
        return off;
    }

    // ---------------------------------------------------------------- element-wise and row-wise

    @Override
    public Tensor add(Tensor a, Tensor b) {
        checkBroadcast("add", a, b);
        Tensor ac = HostTensors.contiguousOnHeap(a), bc = HostTensors.contiguousOnHeap(b);
        Tensor c = output(a.shape());
        long total = ac.numel();
        if (total == 0) {
            return c;
        }
        float[] x = ac.floatArray(), y = bc.floatArray(), out = c.floatArray();
        int xOff = (int) ac.arrayOffset(), yOff = (int) bc.arrayOffset();
        long period = Math.max(1, bc.numel());   // b repeats over a's leading dimensions (a bias, a scalar)
        forChunks(total, LIGHT_PARALLEL_THRESHOLD, (start, len) -> {
            for (long i = start, end = start + len; i < end; ) {
                int n = (int) Math.min(end - i, period - i % period);
                kernels.add(x, xOff + (int) i, y, yOff + (int) (i % period), out, (int) i, n);
                i += n;
            }
        });
        return c;
    }

    @Override
    public Tensor activation(Tensor x, Activation activation) {
        Tensor xc = HostTensors.contiguousOnHeap(x);
        Tensor y = output(x.shape());
        float[] in = xc.floatArray(), out = y.floatArray();
        int inOff = (int) xc.arrayOffset();
        forChunks(xc.numel(), PARALLEL_THRESHOLD, (start, len) -> {
            for (long i = start, end = start + len; i < end; i += CHUNK) {   // a chunk is copied, then done in L1
                int n = (int) Math.min(CHUNK, end - i);
                System.arraycopy(in, inOff + (int) i, out, (int) i, n);
                kernels.activation(out, (int) i, n, activation);
            }
        });
        return y;
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, float eps) {
        int c = x.dim(-1);
        if (weight.numel() != c || bias.numel() != c) {
            throw ShapeException.mismatch("layerNorm", x.shape(), weight.shape(), "weight and bias must be [" + c + "]");
        }
        float[] gamma = HostTensors.vector(weight), beta = HostTensors.vector(bias);
        return rowWise(x, LIGHT_PARALLEL_THRESHOLD, (row, off, n) -> kernels.layerNorm(row, off, n, gamma, beta, eps));
    }

    /** Row by row: the sum written to the output row, then normalized in place while the row is in L1. */
    @Override
    public Tensor addLayerNorm(Tensor x, Tensor residual, Tensor weight, Tensor bias, float eps) {
        if (!Arrays.equals(x.shape(), residual.shape())) {
            throw ShapeException.mismatch("addLayerNorm", x.shape(), residual.shape(), "x and residual must have the same shape");
        }
        int c = x.rank() == 0 ? 1 : x.dim(-1);
        if (weight.numel() != c || bias.numel() != c) {
            throw ShapeException.mismatch("addLayerNorm", x.shape(), weight.shape(), "weight and bias must be [" + c + "]");
        }
        float[] gamma = HostTensors.vector(weight), beta = HostTensors.vector(bias);
        Tensor rc = HostTensors.contiguousOnHeap(residual);
        float[] r = rc.floatArray();
        int rOff = (int) rc.arrayOffset();
        return rowWise(x, LIGHT_PARALLEL_THRESHOLD, (row, off, n) -> {
            kernels.add(row, off, r, rOff + off, row, off, n);
            kernels.layerNorm(row, off, n, gamma, beta, eps);
        });
    }

    @Override
    public Tensor softmax(Tensor x) {
        return rowWise(x, PARALLEL_THRESHOLD, kernels::softmax);
    }

    private interface RowOp {
        void apply(float[] row, int off, int n);
    }

    /** Applies op to each row (last dimension) of x, rows split between threads when there is enough work. */
    private Tensor rowWise(Tensor x, long parallelThreshold, RowOp op) {
        Tensor xc = HostTensors.contiguousOnHeap(x);
        Tensor y = output(x.shape());
        int c = x.rank() == 0 ? 1 : x.dim(-1);
        long rows = HostTensors.rows(xc);
        if (rows == 0 || c == 0) {
            return y;
        }
        float[] in = xc.floatArray(), out = y.floatArray();
        int inOff = (int) xc.arrayOffset();
        int threads = rows * c < parallelThreshold ? 1 : (int) Math.min(rows, pool.threads());
        pool.parallelFor(threads, task -> {
            int r0 = (int) (rows * task / threads), r1 = (int) (rows * (task + 1) / threads);
            for (int r = r0; r < r1; r++) {
                System.arraycopy(in, inOff + r * c, out, r * c, c);
                op.apply(out, r * c, c);
            }
        });
        return y;
    }

    private interface RangeOp {
        void apply(long start, long length);
    }

    /** Splits [0, total) into one contiguous range per thread (one range when small). */
    private void forChunks(long total, long parallelThreshold, RangeOp op) {
        if (total == 0) {
            return;
        }
        int threads = total < parallelThreshold ? 1 : pool.threads();
        pool.parallelFor(threads, task -> {
            long start = total * task / threads, end = total * (task + 1) / threads;
            op.apply(start, end - start);
        });
    }

    // ---------------------------------------------------------------- attention

    @Override
    public AttentionOutput attention(Tensor q, Tensor k, Tensor v, int heads, AttentionMask mask, float scale,
                                     boolean returnProbs) {
        checkAttention(q, k, v, heads);
        int batch = q.dim(0), tq = q.dim(1), tk = k.dim(1), channels = q.dim(2), d = channels / heads;
        KeyMask keyMask = KeyMask.of(paddingMask(mask.keyPadding(), batch, tk), batch, tk);
        boolean causal = mask.causal();
        Tensor context = output(batch, tq, channels);
        Tensor probs = returnProbs ? zeros(batch, heads, tq, tk) : null;   // masked keys keep probability 0
        if (batch == 0 || tq == 0 || channels == 0) {
            return new AttentionOutput(context, probs);
        }
        // Q, K and V are read in place (a KV cache, or views into the fused QKV projection): host F32
        // tensors are float[] on the heap; anything else is copied to one once.
        Tensor qh = HostTensors.onHeap(q), kh = HostTensors.onHeap(k), vh = HostTensors.onHeap(v);
        float[] qa = qh.floatArray(), ka = kh.floatArray(), va = vh.floatArray(), ca = context.floatArray();
        MemorySegment ps = probs == null ? null : probs.segment();
        boolean serial = (long) batch * heads * tq * tk * d < PARALLEL_THRESHOLD;
        if (tq < Kernels.MR) {
            decodingAttention(qh, kh, vh, context, ps, heads, keyMask, causal, scale, serial);
            return new AttentionOutput(context, probs);
        }
        int block = kernels.attentionBlockRows();
        if (attentionInLanes && block > 1 && !causal && ps == null) {
            // An encoder's attention: per (batch, head), the keys scaled once (a plain copy, not transposed), then
            // blocks of two vectors of query rows, one row per lane (Kernels.attentionBlock: 32 rows at 512 bits;
            // the same bits as the blocks of 4 below). kS [keys × d] row-major; work: the block's Qᵀ, Sᵀ and sums.
            forEachInRuns(batch * heads, heads, keyMask.keys, !serial, bh -> {
                Scratch scratch = SCRATCH.get();
                int b = bh / heads, h = bh % heads, keys = keyMask.keys[b];
                float[] kS = scratch.get(0, keys * d);
                float[] work = scratch.get(1, kernels.attentionWorkFloats(d, keys));
                int qBase = headStart(qh, b, h, d), qStride = (int) qh.stride(1);
                int kBase = headStart(kh, b, h, d), kStride = (int) kh.stride(1);
                int vBase = headStart(vh, b, h, d), vStride = (int) vh.stride(1);
                int cBase = (int) ((long) b * tq * channels + (long) h * d);
                float[] bias = keyMask.padded[b] ? keyMask.bias : null;
                kernels.scaledCopy(ka, kBase, kStride, keys, d, scale, kS);
                for (int i0 = 0; i0 < tq; i0 += block) {
                    kernels.attentionBlock(qa, qBase + i0 * qStride, qStride, Math.min(block, tq - i0), kS, keys, d,
                            bias, b * keyMask.tk, va, vBase, vStride, ca, cBase + i0 * channels, channels, work);
                }
            });
            return new AttentionOutput(context, probs);
        }
        // Longer queries: per (batch, head), Kᵀ [d × tk] gathered once, so that blocks of 4 query rows get
        // their scores as whole vectors of keys; V read in place.
        forEachInRuns(batch * heads, heads, keyMask.keys, !serial, bh -> {
            Scratch scratch = SCRATCH.get();
            float[] kT = scratch.get(0, d * tk);
            float[] p = scratch.get(1, Kernels.MR * tk);
            int b = bh / heads, h = bh % heads;
            int qBase = headStart(qh, b, h, d), qStride = (int) qh.stride(1);
            int kBase = headStart(kh, b, h, d), kStride = (int) kh.stride(1);
            int vBase = headStart(vh, b, h, d), vStride = (int) vh.stride(1);
            int cBase = (int) ((long) b * tq * channels + (long) h * d);
            int keys = keyMask.keys[b];
            Kernels.transpose(ka, kBase, kStride, keys, d, kT, tk, scale);   // scores come out scaled
            for (int i0 = 0; i0 < tq; i0 += Kernels.MR) {
                int rows = Math.min(Kernels.MR, tq - i0);
                // Keys after a query's position are masked anyway: don't compute their scores.
                int visibleMax = Math.min(keys, causal ? visible(tk, tq, i0 + rows - 1) : tk);
                kernels.matMulRows(qa, qBase + i0 * qStride, qStride, rows, d, kT, 0, tk, visibleMax, p, 0, tk);
                for (int r = 0; r < rows; r++) {
                    int i = i0 + r;
                    maskAndSoftmax(p, r * tk, keys, Math.min(keys, causal ? visible(tk, tq, i) : tk), keyMask, b);
                    if (ps != null) {
                        MemorySegment.copy(p, r * tk, ps, F32, ((((long) b * heads + h) * tq + i) * tk) * 4, keys);
                    }
                }
                // context rows = P · V_head, V read in place ([keys × d] with row stride vStride).
                kernels.matMulRows(p, 0, tk, rows, keys, va, vBase, vStride, d, ca, cBase + i0 * channels, channels);
            }
        });
        return new AttentionOutput(context, probs);
    }

    /**
     * Decoding's attention (a query row or two over a KV cache [B, tk, C]), split between the threads by runs of
     * cached positions, not by heads. Each cached row holds every head side by side, and the cache comes from memory
     * (a step's weights stream through the caches between two layers' attentions): a thread that reads whole rows
     * streams them, while a thread that reads half of each row — its heads' half, as when the heads were split
     * between two threads — skips a gap every 1.5 KB and waits on memory at every row (GPT-2, 96 cached positions,
     * CPU time of one thread, keys and values out of cache: 6 heads' halves 64 µs per layer, all 12 heads' whole
     * rows 43 µs; DecodeAttentionParts). Three passes:
     * <ol>
     *   <li>scores of every head, each thread over one run of neighbouring chunks of positions;
     *   <li>softmax of each head's whole row of scores, on the calling thread (12 × tk floats for GPT-2);
     *   <li>each chunk's weighted sum of its values for every head, from zero, into a partial row of its own (the same
     *       runs of chunks), then the partial rows added in chunk order.
     * </ol>
     * The chunks depend on tk alone ({@link #decodingChunk}), never on the threads, so 1 and 2 threads give the same bits.
     */
    private void decodingAttention(Tensor qh, Tensor kh, Tensor vh, Tensor context, MemorySegment ps, int heads,
                                   KeyMask keyMask, boolean causal, float scale, boolean serial) {
        int batch = qh.dim(0), tq = qh.dim(1), tk = kh.dim(1), channels = qh.dim(2), d = channels / heads;
        float[] qa = qh.floatArray(), ka = kh.floatArray(), va = vh.floatArray(), ca = context.floatArray();
        if (tk == 0) {   // no keys: an empty softmax times an empty V is zero, as in torch (context is a recycled array)
            Arrays.fill(ca, (int) context.arrayOffset(), (int) (context.arrayOffset() + context.numel()), 0f);
            return;
        }
        int chunk = decodingChunk(tk), chunks = (tk + chunk - 1) / chunk, rows = batch * tq;
        float[] p = scratchArray(rows * heads * tk);              // scores, then probabilities: [B·tq, heads, tk]
        float[] partial = scratchArray(rows * chunks * channels);  // per chunk of positions: [B·tq, chunks, C]
        // each thread one run of neighbouring chunks (per batch row): its rows one after another in memory
        int runs = serial ? 1 : Math.min(chunks, pool.threads());
        pool.forEach(batch * runs, !serial, t -> {
            int b = t / runs, j0 = t % runs * chunks / runs * chunk, j1 = Math.min(tk, (t % runs + 1) * chunks / runs * chunk);
            int kRow = (int) (kh.arrayOffset() + b * kh.stride(0)), kStride = (int) kh.stride(1);
            for (int i = 0; i < tq; i++) {
                int end = Math.min(j1, Math.min(keyMask.keys[b], causal ? visible(tk, tq, i) : tk));
                int qRow = (int) (qh.arrayOffset() + b * qh.stride(0) + i * qh.stride(1)), pRow = (b * tq + i) * heads * tk;
                for (int j = j0; j < end; j++) {   // row by row, every head: the rows are read front to back
                    kernels.headDots(qa, qRow, ka, kRow + j * kStride, heads, d, scale, p, pRow + j, tk);
                }
            }
        });
        for (int b = 0; b < batch; b++) {
            int keys = keyMask.keys[b];
            for (int i = 0; i < tq; i++) {
                int visible = Math.min(keys, causal ? visible(tk, tq, i) : tk);
                for (int h = 0; h < heads; h++) {
                    int row = ((b * tq + i) * heads + h) * tk;
                    maskAndSoftmax(p, row, keys, visible, keyMask, b);
                    if (ps != null) {   // probabilities of the keys past `keys` are 0, as probs already holds
                        MemorySegment.copy(p, row, ps, F32, ((((long) b * heads + h) * tq + i) * tk) * 4, keys);
                    }
                }
            }
        }
        pool.forEach(batch * runs, !serial, t -> {
            int b = t / runs, keys = keyMask.keys[b];   // all keys that can have weight (see maskAndSoftmax)
            int vRow = (int) (vh.arrayOffset() + b * vh.stride(0)), vStride = (int) vh.stride(1);
            for (int c = t % runs * chunks / runs, c1 = (t % runs + 1) * chunks / runs; c < c1; c++) {
                for (int i = 0; i < tq; i++) {
                    int out = ((b * tq + i) * chunks + c) * channels, pRow = (b * tq + i) * heads * tk;
                    int j0 = c * chunk, count = Math.max(0, Math.min(keys, (c + 1) * chunk) - j0);
                    kernels.chunkAxpys(p, pRow + j0, tk, count, va, vRow + j0 * vStride, vStride, partial, out, heads, d);
                }
            }
        });
        for (int r = 0; r < rows; r++) {   // context = the chunks' partial rows, added in chunk order
            int out = r * chunks * channels;
            System.arraycopy(partial, out, ca, r * channels, channels);
            for (int c = 1; c < chunks; c++) {
                kernels.add(ca, r * channels, partial, out + c * channels, ca, r * channels, channels);
            }
        }
        recycle(p);
        recycle(partial);
    }

    /**
     * Cached positions per chunk of {@link #decodingAttention}: 16 chunks or fewer whatever tk is, so that two threads
     * split them about evenly and the partial rows stay few (at most 16 × C floats to add up).
     */
    static int decodingChunk(int tk) {
        return Math.max(1, (tk + 15) / 16);
    }

    /** Index in t's array of head h's first element in batch row b: t is [batch, tokens, heads·d], strided. */
    private static int headStart(Tensor t, int b, int h, int d) {
        return (int) (t.arrayOffset() + b * t.stride(0) + (long) h * d);
    }

    /**
     * Encoder attention (no causal mask, no probabilities asked for) in blocks of two vectors of query rows, one row
     * per lane ({@link Kernels#attentionBlock}); false: blocks of {@link Kernels#MR} rows with a softmax per row, as
     * decoders and {@code returnProbs} still take. The same bits either way. Not final, for A/B runs and tests in one
     * process.
     */
    boolean attentionInLanes = true;

    /**
     * body(0) … body(n − 1), split between the threads when {@code parallel}: in contiguous runs, one per thread — or one
     * per batch row of {@code perRow} tasks when there are at least twice as many rows as threads (claimed in turn, so a
     * thread that is ahead takes more). Why runs: neighbouring heads write neighbouring columns of each context row, and
     * where a head's 32 columns end inside a cache line (a float[] starts 16 bytes into its object, so lines rarely fall on
     * head boundaries) two threads on neighbouring heads write the same line of every row. Claimed one by one, heads
     * h and h + 1 mostly ran at the same time on the two cores; in runs only the heads where runs meet share lines.
     * Measured on all-MiniLM-L6-v2 b1×s128, 2 threads: attention about 1.5% faster (docs/benchmarks.md, "#20f").
     * A head's cost grows with its row's kept keys ({@code rowKeys}): fixed runs per thread only when those are
     * equal (batch 1, no padding) — otherwise a padded row's short heads would leave one thread idle, so the
     * tasks are claimed one by one.
     */
    private void forEachInRuns(int n, int perRow, int[] rowKeys, boolean parallel, java.util.function.IntConsumer body) {
        int rowsOfTasks = n / perRow;
        boolean manyRows = rowsOfTasks >= 2 * pool.threads();
        if (!parallel || (!manyRows && !equalKeys(rowKeys, rowsOfTasks))) {
            pool.forEach(n, parallel, body);
            return;
        }
        int runs = manyRows ? rowsOfTasks : Math.min(n, pool.threads());
        pool.parallelFor(runs, r -> {
            for (int i = (int) ((long) n * r / runs), end = (int) ((long) n * (r + 1) / runs); i < end; i++) {
                body.accept(i);
            }
        });
    }

    private static boolean equalKeys(int[] rowKeys, int rows) {
        for (int b = 1; b < rows; b++) {
            if (rowKeys[b] != rowKeys[0]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Scores row p[row, row + keys) (its first {@code visible} entries computed) → probabilities: keys past
     * {@code visible} and padded keys masked as HF does, then softmax. A row whose every key is masked
     * attends uniformly to all of them, as in HF — which is why {@link KeyMask} cuts the keys short only
     * after the last kept key, never to nothing.
     */
    private void maskAndSoftmax(float[] p, int row, int keys, int visible, KeyMask keyMask, int b) {
        if (visible < keys) {
            Arrays.fill(p, row + visible, row + keys, ScalarBackend.MASKED);
        }
        if (keyMask.padded[b]) {   // as HF: score + MASKED, so a causally masked score becomes −∞
            kernels.add(p, row, keyMask.bias, b * keyMask.tk, p, row, keys);
        }
        kernels.softmax(p, row, keys);
    }

    /**
     * A key padding mask [B, tk] as attention uses it. {@code keys[b]}: the keys of batch row b that can get
     * any weight — up to its last kept key; past it every score is masked, and exp(score + MASKED − max)
     * is exactly 0, so those keys are skipped (right padding: a short sentence in a long batch costs its
     * own length). All tk when every key is masked (HF then attends uniformly). {@code bias}: 0 or
     * MASKED per key, added to the scores of the rows with a masked key before {@code keys[b]}.
     */
    record KeyMask(int tk, int[] keys, boolean[] padded, float[] bias) {
        static KeyMask of(float[] pad, int batch, int tk) {
            int[] keys = new int[batch];
            boolean[] padded = new boolean[batch];
            Arrays.fill(keys, tk);
            if (pad == null) {
                return new KeyMask(tk, keys, padded, null);
            }
            boolean anyPadded = false;
            for (int b = 0; b < batch; b++) {
                int last = tk - 1;
                while (last >= 0 && pad[b * tk + last] == 0f) {
                    last--;
                }
                keys[b] = last < 0 ? tk : last + 1;
                for (int j = 0; j < keys[b] && !padded[b]; j++) {
                    padded[b] = pad[b * tk + j] == 0f;
                }
                anyPadded |= padded[b];
            }
            if (!anyPadded) {   // an all-ones mask (decoding passes one every step): no bias to build
                return new KeyMask(tk, keys, padded, null);
            }
            float[] bias = new float[batch * tk];
            for (int i = 0; i < bias.length; i++) {
                bias[i] = pad[i] != 0f ? 0f : ScalarBackend.MASKED;
            }
            return new KeyMask(tk, keys, padded, bias);
        }
    }

    // ---------------------------------------------------------------- training: the backward kernels
    // TrainingKernels holds the readable reference of each (double accumulation); these are the same
    // formulas cut for speed, in float, and are tested against it and against finite differences.

    /** dst += src: row by row over dst's strides, each row a vector add, rows split between threads when large. */
    @Override
    public void accumulate(Tensor dst, Tensor src) {
        if (!Arrays.equals(dst.shape(), src.shape())) {
            throw ShapeException.mismatch("accumulate", dst.shape(), src.shape(), "shapes must be equal");
        }
        HostTensors.requireF32("accumulate", dst);
        float[] d = dst.floatArray();
        if (d == null || (dst.rank() > 0 && dst.dim(-1) > 1 && dst.stride(-1) != 1)) {
            super.accumulate(dst, src);
            return;
        }
        Tensor sc = HostTensors.contiguousOnHeap(src);
        float[] s = sc.floatArray();
        int sOff = (int) sc.arrayOffset();
        int cols = dst.rank() == 0 ? 1 : dst.dim(-1);
        long rows = HostTensors.rows(dst);
        if (rows == 0 || cols == 0) {
            return;
        }
        if (dst.isContiguous()) {   // one run: split it evenly
            int dOff = (int) dst.arrayOffset();
            forChunks(rows * cols, LIGHT_PARALLEL_THRESHOLD, (start, len) ->
                    kernels.add(d, dOff + (int) start, s, sOff + (int) start, d, dOff + (int) start, (int) len));
            return;
        }
        int threads = rows * cols < LIGHT_PARALLEL_THRESHOLD ? 1 : (int) Math.min(rows, pool.threads());
        pool.parallelFor(threads, task -> {
            long r0 = rows * task / threads, r1 = rows * (task + 1) / threads;
            for (long r = r0; r < r1; r++) {
                int at = (int) (HostTensors.rowOffset(dst, r) - dst.offset() + dst.arrayOffset());
                kernels.add(d, at, s, sOff + (int) (r * cols), d, at, cols);
            }
        });
    }

    /** AdamW in whole vectors, the weights split evenly between the threads (each element's update is independent). */
    @Override
    public void adamW(AdamWStep step, float[] w, float[] g, int off, float[] m, float[] v, int n) {
        forChunks(n, LIGHT_PARALLEL_THRESHOLD, (start, len) ->
                kernels.adamW(step, w, g, off, m, v, (int) start, (int) (start + len)));
    }

    /**
     * The three GEMMs of a linear layer's backward, each through {@link #gemm}: dx = dy·W with W packed as
     * the B of that product (OUT_IN's [out, in] is already B; Conv1D's [in, out] is its transpose), and the
     * weight gradient as a GEMM over the N rows: OUT_IN dW [out, in] += dyᵀ·x, Conv1D dW [in, out] += xᵀ·dy —
     * the left factor read in place as a transposed A (no copy), the right one packed like a weight. Packing costs one
     * pass over a matrix; the product costs N (or out) passes.
     */
    @Override
    public Tensor linearBackward(Tensor dy, Tensor x, Tensor weight, WeightLayout layout, Tensor dWeight,
                                 Tensor dBias, boolean inputGradient) {
        int out = dy.dim(-1), in = x.dim(-1);
        long n = HostTensors.rows(dy);
        boolean outIn = layout == WeightLayout.OUT_IN;
        int[] wShape = outIn ? new int[] {out, in} : new int[] {in, out};
        if (HostTensors.rows(x) != n || !Arrays.equals(weight.shape(), wShape)) {
            throw ShapeException.mismatch("linearBackward", dy.shape(), x.shape(),
                    "dy [N, out] and x [N, in] need a weight " + Arrays.toString(wShape) + ", got " + weight);
        }
        Tensor dyc = HostTensors.contiguousOnHeap(dy);
        float[] g = dyc.floatArray();
        int gOff = (int) dyc.arrayOffset();
        Tensor dx = null;
        if (inputGradient) {
            dx = output(x.shape());
            if (n > 0 && in > 0) {
                // dx = dy·W: W is the B of this product as it stands (OUT_IN [out, in] is B [K = out, N = in])
                Tensor wc = HostTensors.contiguousOnHeap(weight.toF32());
                float[] panels = scratchArray((int) PackedLinear.floats(out, in, kernels.panelWidth()));
                PackedLinear wAsB = PackedLinear.packInto(wc.floatArray(), (int) wc.arrayOffset(), out, in,
                        outIn ? WeightLayout.IN_OUT : WeightLayout.OUT_IN, kernels.panelWidth(), pool, panels);
                gemm(g, gOff, (int) n, wAsB, dx.floatArray(), 0);
                recycle(panels);
            }
        }
        if (dWeight != null && n > 0) {
            Tensor xc = HostTensors.contiguousOnHeap(x);
            // OUT_IN: dW = dyᵀ·x (A = dyᵀ [out × N], B = x [N × in]); Conv1D: dW = xᵀ·dy.
            float[] left = outIn ? g : xc.floatArray();
            int leftOff = outIn ? gOff : (int) xc.arrayOffset(), leftCols = outIn ? out : in;
            Tensor right = outIn ? xc : dyc;
            int rightCols = outIn ? in : out;
            // B lives for this product only: its panels go into a recycled array (no fresh N × in floats each call)
            float[] panels = scratchArray((int) PackedLinear.floats((int) n, rightCols, kernels.panelWidth()));
            PackedLinear b = PackedLinear.packInto(right.floatArray(), (int) right.arrayOffset(), (int) n, rightCols,
                    WeightLayout.IN_OUT, kernels.panelWidth(), pool, panels);
            // the left factor [N, leftCols] is read in place as the transposed A
            if (dWeight.floatArray() != null && dWeight.isContiguous()) {   // straight into the gradient
                gemm(left, leftOff, leftCols, b, dWeight.floatArray(), (int) dWeight.arrayOffset(), true, true, null);
            } else {
                float[] tmp = new float[(int) dWeight.numel()];
                gemm(left, leftOff, leftCols, b, tmp, 0, true, true, null);
                accumulate(dWeight, Tensor.of(tmp, dWeight.shape()));
            }
            recycle(panels);
        }
        if (dBias != null && n > 0) {
            accumulate(dBias, Tensor.of(columnSums(g, gOff, (int) n, out), out));
        }
        return dx;
    }

    /** Σ over rows of a row-major [rows × cols] block: each thread sums its rows, the partial sums are added in order. */
    float[] columnSums(float[] a, int off, int rows, int cols) {   // package-private for benchmarks
        int threads = (long) rows * cols < LIGHT_PARALLEL_THRESHOLD ? 1 : Math.min(rows, pool.threads());
        float[][] partial = new float[threads][cols];
        pool.parallelFor(threads, task -> {
            int r0 = (int) ((long) rows * task / threads), r1 = (int) ((long) rows * (task + 1) / threads);
            float[] sum = partial[task];
            for (int r = r0; r < r1; r++) {
                kernels.add(sum, 0, a, off + r * cols, sum, 0, cols);
            }
        });
        for (int t = 1; t < threads; t++) {
            kernels.add(partial[0], 0, partial[t], 0, partial[0], 0, cols);
        }
        return partial[0];
    }

    /** a·b (dropout's mask), chunks split between threads. */
    @Override
    public Tensor multiply(Tensor a, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw ShapeException.mismatch("multiply", a.shape(), b.shape(), "shapes must be equal");
        }
        Tensor ac = HostTensors.contiguousOnHeap(a), bc = HostTensors.contiguousOnHeap(b);
        Tensor y = output(a.shape());
        float[] x = ac.floatArray(), z = bc.floatArray(), out = y.floatArray();
        int xOff = (int) ac.arrayOffset(), zOff = (int) bc.arrayOffset();
        forChunks(ac.numel(), LIGHT_PARALLEL_THRESHOLD, (start, len) ->
                kernels.multiply(x, xOff + (int) start, z, zOff + (int) start, out, (int) start, (int) len));
        return y;
    }

    @Override
    public Tensor scale(Tensor x, float factor) {
        Tensor xc = HostTensors.contiguousOnHeap(x);
        Tensor y = output(x.shape());
        float[] in = xc.floatArray(), out = y.floatArray();
        int inOff = (int) xc.arrayOffset();
        forChunks(xc.numel(), LIGHT_PARALLEL_THRESHOLD, (start, len) -> {
            System.arraycopy(in, inOff + (int) start, out, (int) start, (int) len);
            kernels.scale(out, (int) start, (int) len, factor);
        });
        return y;
    }

    @Override
    public Tensor activationBackward(Tensor dy, Tensor x, Activation activation) {
        if (!Arrays.equals(dy.shape(), x.shape())) {
            throw ShapeException.mismatch("activationBackward", dy.shape(), x.shape(), "shapes must be equal");
        }
        Tensor gc = HostTensors.contiguousOnHeap(dy), xc = HostTensors.contiguousOnHeap(x);
        Tensor dx = output(x.shape());
        float[] g = gc.floatArray(), xs = xc.floatArray(), out = dx.floatArray();
        int gOff = (int) gc.arrayOffset(), xOff = (int) xc.arrayOffset();
        // in calls of BACKWARD_CHUNK elements (see there)
        forChunks(xc.numel(), PARALLEL_THRESHOLD, (start, len) -> {
            for (long i = start, end = start + len; i < end; i += BACKWARD_CHUNK) {
                int n = (int) Math.min(BACKWARD_CHUNK, end - i);
                kernels.activationBackward(g, gOff + (int) i, xs, xOff + (int) i, out, (int) i, n, activation);
            }
        });
        return dx;
    }

    /** Rows split between threads; each thread adds its rows' dγ and dβ into arrays of its own, summed at the end. */
    @Override
    public Tensor layerNormBackward(Tensor dy, Tensor x, Tensor weight, float eps, Tensor dWeight, Tensor dBias) {
        int c = x.rank() == 0 ? 1 : x.dim(-1);
        if (!Arrays.equals(dy.shape(), x.shape()) || weight.numel() != c) {
            throw ShapeException.mismatch("layerNormBackward", dy.shape(), x.shape(),
                    "dy and x must have one shape and the weight [" + c + "]");
        }
        Tensor gc = HostTensors.contiguousOnHeap(dy), xc = HostTensors.contiguousOnHeap(x);
        float[] g = gc.floatArray(), xs = xc.floatArray(), gamma = HostTensors.vector(weight);
        int gOff = (int) gc.arrayOffset(), xOff = (int) xc.arrayOffset();
        Tensor dx = output(x.shape());
        float[] out = dx.floatArray();
        long rows = HostTensors.rows(xc);
        if (rows == 0 || c == 0) {
            return dx;
        }
        int threads = rows * c < LIGHT_PARALLEL_THRESHOLD ? 1 : (int) Math.min(rows, pool.threads());
        float[][] dGamma = new float[threads][c], dBeta = new float[threads][c];
        pool.parallelFor(threads, task -> {
            int r0 = (int) (rows * task / threads), r1 = (int) (rows * (task + 1) / threads);
            for (int r = r0; r < r1; r++) {
                kernels.layerNormBackward(g, gOff + r * c, xs, xOff + r * c, c, gamma, eps, out, r * c,
                        dGamma[task], dBeta[task]);
            }
        });
        for (int t = 1; t < threads; t++) {
            kernels.add(dGamma[0], 0, dGamma[t], 0, dGamma[0], 0, c);
            kernels.add(dBeta[0], 0, dBeta[t], 0, dBeta[0], 0, c);
        }
        if (dWeight != null) {
            accumulate(dWeight, Tensor.of(dGamma[0], c));
        }
        if (dBias != null) {
            accumulate(dBias, Tensor.of(dBeta[0], c));
        }
        return dx;
    }

    @Override
    public Tensor softmaxBackward(Tensor dy, Tensor y) {
        if (!Arrays.equals(dy.shape(), y.shape())) {
            throw ShapeException.mismatch("softmaxBackward", dy.shape(), y.shape(), "shapes must be equal");
        }
        Tensor gc = HostTensors.contiguousOnHeap(dy), yc = HostTensors.contiguousOnHeap(y);
        float[] g = gc.floatArray(), ys = yc.floatArray();
        int gOff = (int) gc.arrayOffset(), yOff = (int) yc.arrayOffset();
        int c = y.rank() == 0 ? 1 : y.dim(-1);
        Tensor dx = output(y.shape());
        float[] out = dx.floatArray();
        long rows = HostTensors.rows(yc);
        int threads = rows * c < PARALLEL_THRESHOLD ? 1 : (int) Math.min(rows, pool.threads());
        pool.parallelFor(rows == 0 ? 0 : threads, task -> {
            int r0 = (int) (rows * task / threads), r1 = (int) (rows * (task + 1) / threads);
            for (int r = r0; r < r1; r++) {
                kernels.softmaxBackward(g, gOff + r * c, ys, yOff + r * c, out, r * c, c, 1f);
            }
        });
        return dx;
    }

    /** Rows of x [N, C] by index, one array copy each (the default copies all of x to the host first). */
    @Override
    public Tensor gatherRows(Tensor x, long[] rows) {
        if (x.rank() != 2) {
            throw ShapeException.of("gatherRows", "x [rows, columns]", x.shape());
        }
        Tensor xh = HostTensors.onHeap(x);
        HostTensors.requireLastDimContiguous("gatherRows", xh);
        int n = xh.dim(0), c = xh.dim(1);
        Tensor y = output(rows.length, c);
        float[] from = xh.floatArray(), to = y.floatArray();
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] < 0 || rows[i] >= n) {
                throw new ShapeException("gatherRows: row " + rows[i] + " outside [0, " + n + ")");
            }
            System.arraycopy(from, (int) (xh.arrayOffset() + rows[i] * xh.stride(0)), to, i * c, c);
        }
        return y;
    }

    /** dx [N, C]: zero but for dx[rows[i]] += dy[i], in a recycled array. */
    @Override
    public Tensor gatherRowsBackward(Tensor dy, long[] rows, int n) {
        Tensor g = HostTensors.contiguousOnHeap(dy);
        int c = g.dim(1);
        if ((long) n * c > Integer.MAX_VALUE - 8) {   // too large for a heap array
            return super.gatherRowsBackward(dy, rows, n);
        }
        Tensor dx = zeros(n, c);
        float[] from = g.floatArray(), to = dx.floatArray();
        int toOff = (int) dx.arrayOffset(), fromOff = (int) g.arrayOffset();
        for (int i = 0; i < rows.length; i++) {
            int row = toOff + (int) rows[i] * c;
            kernels.add(to, row, from, fromOff + i * c, to, row, c);
        }
        return dx;
    }

    /**
     * One task per (batch, head), as the forward, with the head's dS = scale·P·(dP − rowsum(dP·P)) [Tq × Tk]
     * in a scratch array (one head at a time: no [B, h, Tq, Tk] gradient), and four products through the
     * 4-row tiles of {@link Kernels#matMulRows}: dP = dC·Vᵀ (Vᵀ gathered) and dQ = dS·K with n = d output
     * columns; dV and dK computed transposed, dVᵀ = dCᵀ·P and dKᵀ = Qᵀ·dS (n = Tk: whole 4 × 4 tiles, where
     * n = d = 32 leaves them half empty), with dC and Q read in place as the transposed A of
     * {@link Kernels#matMulTransposedRows} and each [d × Tk] result transposed into the head's columns.
     * P and dS are never transposed. Masked keys have P = 0, hence dS = 0.
     */
    @Override
    public Tensor[] attentionBackward(Tensor dContext, Tensor q, Tensor k, Tensor v, Tensor probs, int heads,
                                      float scale) {
        return attentionBackward(dContext, q, k, v, probs, null, heads, scale);
    }

    /** With dropout's keep mask M: dV = (P·M)ᵀ·dC and dP = (dC·Vᵀ)·M, element-wise in P; the rest as without. */
    @Override
    public Tensor[] attentionBackward(Tensor dContext, Tensor q, Tensor k, Tensor v, Tensor probs, Tensor keep,
                                      int heads, float scale) {
        checkAttention(q, k, v, heads);
        int batch = q.dim(0), tq = q.dim(1), tk = k.dim(1), channels = q.dim(2), d = channels / heads;
        if (!Arrays.equals(dContext.shape(), q.shape()) || !Arrays.equals(probs.shape(), new int[] {batch, heads, tq, tk})
                || (keep != null && !Arrays.equals(keep.shape(), probs.shape()))) {
            throw ShapeException.mismatch("attentionBackward", dContext.shape(), probs.shape(),
                    "dContext must be shaped as q, probs (and a dropout mask) [B, h, Tq, Tk]");
        }
        if (batch == 0 || tq == 0 || tk == 0 || d == 0) {   // nothing attends: the gradients are zero (or empty)
            return new Tensor[] {zeros(batch, tq, channels), zeros(batch, tk, channels), zeros(batch, tk, channels)};
        }
        // recycled outputs: every element is written below (each head's columns of every row). Q, K and V as the thirds
        // of one [B, T, 3C] array (the fused projection's output): their gradients side by side in one array laid out
        // the same way, which the autograd takes as that output's gradient as it is (no zeroed [B, T, 3C] and three
        // strided additions into it)
        boolean fused = fusedThirds(q, k, v);
        int outStride = fused ? 3 * channels : channels;
        Tensor dqkv = fused ? output(batch, tq, outStride) : null;
        Tensor dq = fused ? dqkv.narrow(2, 0, channels) : output(batch, tq, channels);
        Tensor dk = fused ? dqkv.narrow(2, channels, channels) : output(batch, tk, channels);
        Tensor dv = fused ? dqkv.narrow(2, 2 * channels, channels) : output(batch, tk, channels);
        Tensor qh = HostTensors.onHeap(q), kh = HostTensors.onHeap(k), vh = HostTensors.onHeap(v);
        Tensor dch = HostTensors.contiguousOnHeap(dContext), ph = HostTensors.contiguousOnHeap(probs);
        Tensor mh = keep == null ? null : HostTensors.contiguousOnHeap(keep);
        float[] qa = qh.floatArray(), ka = kh.floatArray(), va = vh.floatArray(), dc = dch.floatArray(), pa = ph.floatArray();
        float[] ma = mh == null ? null : mh.floatArray();
        float[] dqa = dq.floatArray(), dka = dk.floatArray(), dva = dv.floatArray();
        int dqOff = (int) dq.arrayOffset(), dkOff = (int) dk.arrayOffset(), dvOff = (int) dv.arrayOffset();
        boolean serial = (long) batch * heads * tq * tk * d < PARALLEL_THRESHOLD;
        pool.forEach(batch * heads, !serial, bh -> {
            int b = bh / heads, h = bh % heads;
            Scratch scratch = SCRATCH.get();
            float[] dS = scratch.get(0, tq * tk), dT = scratch.get(2, d * tk);   // dT: Vᵀ, dVᵀ, dKᵀ in turn
            int qBase = headStart(qh, b, h, d), qStride = (int) qh.stride(1);
            int kBase = headStart(kh, b, h, d), kStride = (int) kh.stride(1);
            int vBase = headStart(vh, b, h, d), vStride = (int) vh.stride(1);
            int cBase = (int) (dch.arrayOffset() + (long) b * tq * channels + (long) h * d);
            int kvOut = b * tk * outStride + h * d, qOut = b * tq * outStride + h * d;
            int pBase = (int) (ph.arrayOffset() + (long) bh * tq * tk);
            int mBase = mh == null ? 0 : (int) (mh.arrayOffset() + (long) bh * tq * tk);
            // dVᵀ = dCᵀ·P (P·M with dropout, multiplied into scratch), [d × Tk], then into dV's columns
            float[] pm = pa;
            int pmOff = pBase;
            if (ma != null) {
                pm = scratch.get(1, tq * tk);
                pmOff = 0;
                kernels.multiply(pa, pBase, ma, mBase, pm, 0, tq * tk);
            }
            kernels.matMulTransposedRows(dc, cBase, channels, d, tq, pm, pmOff, tk, tk, dT, 0, tk);
            Kernels.transpose(dT, 0, tk, d, tk, dva, dvOff + kvOut, outStride, 1f);
            // dP = dC·Vᵀ (times M with dropout), then dS row by row (scaled: dQ and dK need scale·dS)
            Kernels.transpose(va, vBase, vStride, tk, d, dT, tk, 1f);
            kernels.matMulRows(dc, cBase, channels, tq, d, dT, 0, tk, tk, dS, 0, tk);
            if (ma != null) {
                kernels.multiply(dS, 0, ma, mBase, dS, 0, tq * tk);
            }
            for (int i = 0; i < tq; i++) {
                kernels.softmaxBackward(dS, i * tk, pa, pBase + i * tk, dS, i * tk, tk, scale);
            }
            // dQ = dS·K; dKᵀ = Qᵀ·dS, [d × Tk], then into dK's columns
            kernels.matMulRows(dS, 0, tk, tq, tk, ka, kBase, kStride, d, dqa, dqOff + qOut, outStride);
            kernels.matMulTransposedRows(qa, qBase, qStride, d, tq, dS, 0, tk, tk, dT, 0, tk);
            Kernels.transpose(dT, 0, tk, d, tk, dka, dkOff + kvOut, outStride, 1f);
        });
        return new Tensor[] {dq, dk, dv};
    }

    /**
     * Whether q, k and v [B, T, C] are the thirds of one whole [B, T, 3C] array in that order (BERT's and GPT-2's fused
     * query/key/value projection): then {@link #attentionBackward} lays their gradients out the same way.
     */
    private static boolean fusedThirds(Tensor q, Tensor k, Tensor v) {
        float[] a = q.floatArray();
        int c = q.dim(2);
        long rowStride = 3L * c;
        return a != null && k.floatArray() == a && v.floatArray() == a && q.arrayOffset() == 0
                && k.arrayOffset() == c && v.arrayOffset() == 2L * c && q.dim(1) == k.dim(1)
                && q.segment().byteSize() == (long) q.dim(0) * q.dim(1) * rowStride * Float.BYTES
                && Arrays.equals(q.strides(), k.strides()) && Arrays.equals(q.strides(), v.strides())
                && q.stride(2) == 1 && q.stride(1) == rowStride && q.stride(0) == q.dim(1) * rowStride;
    }

    /**
     * dTable[ids[i]] += dy[i]: the channels split between threads (each adds its slice of every row, so no
     * two threads write one float), the padding row skipped.
     */
    @Override
    public void embeddingBackward(Tensor dy, Tensor ids, Tensor dTable, int paddingIdx) {
        if (dTable.rank() != 2 || dTable.floatArray() == null || !dTable.isContiguous()) {
            super.embeddingBackward(dy, ids, dTable, paddingIdx);
            return;
        }
        int vocab = dTable.dim(0), c = dTable.dim(1);
        long[] idx = ids.toLongArray();
        if (dy.numel() != (long) idx.length * c) {
            throw ShapeException.mismatch("embeddingBackward", dy.shape(), ids.shape(), "dy must be [ids..., " + c + "]");
        }
        for (long id : idx) {
            if (id < 0 || id >= vocab) {
                throw new JformersException("embeddingBackward: id " + id + " is outside the table of " + vocab + " rows");
            }
        }
        Tensor gc = HostTensors.contiguousOnHeap(dy);
        float[] g = gc.floatArray(), table = dTable.floatArray();
        int gOff = (int) gc.arrayOffset(), tOff = (int) dTable.arrayOffset();
        int threads = (long) idx.length * c < LIGHT_PARALLEL_THRESHOLD ? 1 : Math.min(c, pool.threads());
        pool.parallelFor(idx.length == 0 ? 0 : threads, task -> {
            int c0 = c * task / threads, n = c * (task + 1) / threads - c0;
            for (int i = 0; i < idx.length; i++) {
                if (idx[i] != paddingIdx) {
                    int row = tOff + (int) idx[i] * c + c0;
                    kernels.add(table, row, g, gOff + i * c + c0, table, row, n);
                }
            }
        });
    }

    /** The loss from one log-sum-exp per kept row (max pass, exp-sum pass), rows split between threads. */
    @Override
    public Tensor crossEntropy(Tensor logits, Tensor labels, int ignoreIndex) {
        if (!vectorRows(logits)) {
            return super.crossEntropy(logits, labels, ignoreIndex);
        }
        int rows = logits.dim(0), classes = logits.dim(1);
        long[] y = TrainingKernels.labels(labels, rows, classes, ignoreIndex);
        float[] z = logits.floatArray();
        int off = (int) logits.arrayOffset(), stride = (int) logits.stride(0);
        int threads = (long) rows * classes < PARALLEL_THRESHOLD ? 1 : Math.min(rows, pool.threads());
        double[] partial = new double[threads];
        int[] kept = new int[threads];
        pool.parallelFor(rows == 0 ? 0 : threads, task -> {
            int r0 = (int) ((long) rows * task / threads), r1 = (int) ((long) rows * (task + 1) / threads);
            for (int r = r0; r < r1; r++) {
                if (y[r] != ignoreIndex) {
                    int row = off + r * stride;
                    partial[task] += (double) kernels.logSumExp(z, row, classes) - z[row + (int) y[r]];
                    kept[task]++;
                }
            }
        });
        double total = 0;
        int keptRows = 0;
        for (int t = 0; t < threads; t++) {
            total += partial[t];
            keptRows += kept[t];
        }
        return TrainingKernels.scalar((float) (total / keptRows));
    }

    /**
     * (softmax − one-hot)·gradOutput/kept, one kept row at a time: its log-sum-exp (a max pass and an
     * exp-sum pass over the row), then one pass that writes exp(z − lse) scaled — the log-softmax is never
     * stored. Ignored rows get zeros.
     */
    @Override
    public Tensor crossEntropyBackward(Tensor logits, Tensor labels, int ignoreIndex, float gradOutput) {
        if (!vectorRows(logits)) {
            return super.crossEntropyBackward(logits, labels, ignoreIndex, gradOutput);
        }
        int rows = logits.dim(0), classes = logits.dim(1);
        long[] y = TrainingKernels.labels(labels, rows, classes, ignoreIndex);
        int keptRows = 0;
        for (long l : y) {
            keptRows += l == ignoreIndex ? 0 : 1;
        }
        float factor = gradOutput / keptRows;
        float[] z = logits.floatArray();
        int off = (int) logits.arrayOffset(), stride = (int) logits.stride(0);
        Tensor dz = output(rows, classes);
        float[] out = dz.floatArray();
        int threads = (long) rows * classes < PARALLEL_THRESHOLD ? 1 : Math.min(rows, pool.threads());
        pool.parallelFor(rows == 0 ? 0 : threads, task -> {
            int r0 = (int) ((long) rows * task / threads), r1 = (int) ((long) rows * (task + 1) / threads);
            for (int r = r0; r < r1; r++) {
                int row = off + r * stride, o = r * classes;
                if (y[r] == ignoreIndex) {
                    Arrays.fill(out, o, o + classes, 0f);
                    continue;
                }
                kernels.scaledSoftmax(z, row, kernels.logSumExp(z, row, classes), factor, out, o, classes);
                out[o + (int) y[r]] -= factor;
            }
        });
        return dz;
    }

    /** Whether logits [N, C] are a float[] on the heap with contiguous rows (any row stride), as the vector loops read them. */
    private static boolean vectorRows(Tensor logits) {
        return logits.rank() == 2 && logits.floatArray() != null && (logits.dim(1) <= 1 || logits.stride(1) == 1);
    }

    /** Keys query row i may see under a causal mask (the last tq of tk positions are the queries). */
    private static int visible(int tk, int tq, int i) {
        return Math.max(0, Math.min(tk, tk - tq + i + 1));
    }

}
