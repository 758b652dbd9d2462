package dev.jformers.cpu;

import dev.jformers.core.Activation;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.AttentionOutput;
import dev.jformers.core.Backend;
import dev.jformers.core.DType;
import dev.jformers.core.JformersException;
import dev.jformers.core.LinearWeight;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

import static dev.jformers.cpu.TestTensors.assertClose;
import static dev.jformers.cpu.TestTensors.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every SimdBackend operation against ScalarBackend, for each vector width (512, 256, 128, scalar
 * loops) with 1 and 2 threads, on shapes chosen to hit the edges: 1, odd sizes, vector tails, row and
 * K blocks that don't divide, partial weight panels, GEMVs, and strided views.
 */
class SimdBackendTest {
    static final ScalarBackend REFERENCE = new ScalarBackend();
    static final List<SimdBackend> BACKENDS = new ArrayList<>();

    static {
        for (int bits : new int[] {512, 256, 128, SimdBackend.SCALAR_BITS}) {
            for (int threads : new int[] {1, 2}) {
                BACKENDS.add(new SimdBackend(threads, bits));
            }
        }
    }

    static List<SimdBackend> backends() {
        return BACKENDS;
    }

    @AfterAll
    static void closeAll() {
        BACKENDS.forEach(SimdBackend::close);
    }

    // ---------------------------------------------------------------- linear

    /**
     * {m, in, out}: tiny, odd, tails of the 4-row tile and of panels, GEMVs (m ≤ 8), K blocks that don't
     * divide (kc = 512, 1365, 2730, 10922 floats at 512, 256, 128 bits, scalar; m > 8), whole panels
     * only (out a multiple of 64; the GEMV's panel loop with even and odd k), several row blocks (m > 128); most are large enough (≥ 128K
     * multiply-adds) to be split between threads.
     */
    static final int[][] LINEAR_SHAPES = {
        {1, 1, 1}, {1, 7, 5}, {3, 5, 7}, {4, 16, 48}, {5, 33, 49}, {9, 300, 50}, {17, 64, 100},
        {130, 70, 97}, {1, 200, 1000}, {2, 129, 3}, {8, 520, 33}, {37, 257, 130}, {3, 0, 5},
        {9, 1100, 70}, {13, 2100, 20}, {10, 3100, 9},
        {261, 90, 97}, {1, 2100, 1001}, {6, 700, 530}, {300, 64, 256}, {12, 11000, 70},
        {1, 768, 256}, {1, 385, 192}, {1, 0, 64}, {1, 3, 130}};

    /**
     * A GEMV large enough to be cut into runs by its size ({@link SimdBackend#GEMV_RUN_BYTES}): each column is still one thread's whole dot product, so 2 threads give
     * 1 thread's bits, float and int8 panels alike.
     */
    @Test
    void aGemvCutIntoRunsByItsSizeGivesOneThreadsBits() {
        Random rnd = new Random(3);
        int in = 600, out = 9000;   // 21.6 MB of float panels: 11 runs of at most 2 MiB
        assertTrue(4.0 * in * out / SimdBackend.GEMV_RUN_BYTES > 2 * SimdBackend.GEMV_CHUNKS_PER_THREAD);
        Tensor x = random(rnd, 1f, 1, in), w = random(rnd, 0.05f, out, in), b = random(rnd, 0.1f, out);
        for (PackedLinear.Storage storage : List.of(PackedLinear.Storage.F32, PackedLinear.Storage.INT8)) {
            try (SimdBackend one = new SimdBackend(1, 0, storage); SimdBackend two = new SimdBackend(2, 0, storage)) {
                float[] y1 = one.linear(x, one.prepareLinear(w, b, WeightLayout.OUT_IN)).toFloatArray();
                float[] y2 = two.linear(x, two.prepareLinear(w, b, WeightLayout.OUT_IN)).toFloatArray();
                assertTrue(Arrays.equals(y1, y2), storage + ": 2 threads differ from 1");
            }
        }
    }

    /**
     * A GEMV's guided runs ({@link SimdBackend#gemvRunStarts}) cover every panel once, in order, shrink toward the end
     * to a last run of one panel, and hold no more than {@link SimdBackend#GEMV_RUN_BYTES} of weight unless a single
     * panel is larger.
     */
    @Test
    void gemvRunsCoverEveryPanelOnceAndShrinkToOnePanel() {
        if (!SimdBackend.GEMV_GUIDED_RUNS) {
            return;   // jformers.simd.gemvRuns=even: equal runs, tested by the bits tests below
        }
        for (int panels : new int[] {1, 2, 3, 12, 36, 48, 786}) {
            for (long panelBytes : new long[] {768L * 64 * 4, 3072L * 64 * 4, 768L * 64 + 768 / 32 * 64 * 4, 3L << 20}) {
                for (int threads : new int[] {2, 3, 16}) {
                    int[] starts = SimdBackend.gemvRunStarts(panels, panelBytes, threads);
                    String what = panels + " panels of " + panelBytes + " bytes, " + threads + " threads: " + Arrays.toString(starts);
                    assertEquals(0, starts[0], what);
                    assertEquals(panels, starts[starts.length - 1], what);
                    for (int i = 1; i < starts.length; i++) {
                        int size = starts[i] - starts[i - 1];
                        assertTrue(size >= 1 && (size == 1 || size * panelBytes <= SimdBackend.GEMV_RUN_BYTES), what);
                        assertTrue(i == 1 || size <= starts[i - 1] - starts[i - 2], what + ": runs must not grow");
                    }
                    assertEquals(1, starts[starts.length - 1] - starts[starts.length - 2], what);
                }
            }
        }
    }

    /** GPT-2's decoding shapes on 2 threads (guided runs, float and int8 panels) give 1 thread's bits. */
    @Test
    void gpt2DecodingGemvsOnTwoThreadsGiveOneThreadsBits() {
        Random rnd = new Random(4);
        for (int[] shape : new int[][] {{768, 2304}, {3072, 768}, {256, 1000}}) {   // each above the 2-thread threshold
            int in = shape[0], out = shape[1];
            Tensor x = random(rnd, 1f, 1, in), w = random(rnd, 0.05f, out, in), b = random(rnd, 0.1f, out);
            for (PackedLinear.Storage storage : List.of(PackedLinear.Storage.F32, PackedLinear.Storage.INT8)) {
                try (SimdBackend one = new SimdBackend(1, 0, storage); SimdBackend two = new SimdBackend(2, 0, storage)) {
                    LinearWeight packed = one.prepareLinear(w, b, WeightLayout.OUT_IN);   // the same panels on both
                    float[] y1 = one.linear(x, packed).toFloatArray();
                    float[] y2 = two.linear(x, packed).toFloatArray();
                    assertTrue(Arrays.equals(y1, y2), storage + " " + in + "×" + out + ": 2 threads differ from 1");
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void linearMatchesReferenceForBothLayoutsWithAndWithoutBias(SimdBackend simd) {
        Random rnd = new Random(1);
        for (int[] s : LINEAR_SHAPES) {
            int m = s[0], in = s[1], out = s[2];
            Tensor x = random(rnd, 1f, m, in);
            for (WeightLayout layout : WeightLayout.values()) {
                Tensor w = layout == WeightLayout.OUT_IN ? random(rnd, 1f, out, in) : random(rnd, 1f, in, out);
                for (boolean withBias : new boolean[] {false, true}) {
                    Tensor b = withBias ? random(rnd, 1f, out) : null;
                    Tensor expected = REFERENCE.linear(x, REFERENCE.prepareLinear(w, b, layout));
                    Tensor actual = simd.linear(x, simd.prepareLinear(w, b, layout));
                    // float accumulation: the error grows with the number of terms (cancellation near 0)
                    assertClose(expected, actual, 1e-5 + 1e-7 * in, 1e-5, simd.describe() + " linear " + m + "×" + in + "→" + out
                            + " " + layout + (withBias ? " +bias" : ""));
                }
            }
        }
    }

    /**
     * The float32 GEMV (one row, whole panels) sums each column as two FMA chains, the even rows of the weight and the
     * odd ones, then bias + (even + odd): exactly, whatever k's remainder by 4 (the loop takes four rows an iteration,
     * then a pair, then an odd last row). The columns of a last, partial panel go through the tile (another order).
     */
    @ParameterizedTest
    @MethodSource("backends")
    void gemvSumsEachColumnAsAnEvenAndAnOddChain(SimdBackend simd) {
        if (simd.vectorBits() == SimdBackend.SCALAR_BITS) {
            return;   // the scalar loops' GEMV is the tile's one chain
        }
        Random rnd = new Random(11);
        for (int in : new int[] {1, 2, 3, 4, 5, 6, 7, 9, 66, 131, 385, 768}) {
            for (int out : new int[] {64, 130, 200}) {
                Tensor x = random(rnd, 1f, 1, in), w = random(rnd, 1f, out, in), b = random(rnd, 1f, out);
                PackedLinear packed = (PackedLinear) simd.prepareLinear(w, b, WeightLayout.OUT_IN);
                float[] y = simd.linear(x, packed).toFloatArray(), xs = x.toFloatArray(), ws = w.toFloatArray(), bs = b.toFloatArray();
                for (int j = 0; j < out / packed.panelWidth * packed.panelWidth; j++) {
                    float even = 0f, odd = 0f;
                    for (int t = 0; t < in; t++) {
                        if (t % 2 == 0) {
                            even = Math.fma(xs[t], ws[j * in + t], even);
                        } else {
                            odd = Math.fma(xs[t], ws[j * in + t], odd);
                        }
                    }
                    assertEquals(bs[j] + (even + odd), y[j], simd.describe() + " 1×" + in + "→" + out + ", column " + j);
                }
            }
        }
    }

    /**
     * A GEMV reads the bias as it stores its sums (no copy of the bias into y first): the bits of the bias copied into
     * y and the sums added to it after (the GEMM's accumulate form), for every weight storage, width and thread count,
     * with whole panels, a partial last panel, odd k and a GEMV split between two threads.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void gemvReadingTheBiasGivesTheBitsOfBiasThenSums(SimdBackend simd) {
        Random rnd = new Random(12);
        int[][] shapes = {{1, 1}, {7, 5}, {33, 64}, {131, 200}, {385, 192}, {768, 2304}, {3072, 768}, {256, 1000}};
        for (PackedLinear.Storage storage : PackedLinear.Storage.values()) {
            try (SimdBackend withStorage = new SimdBackend(simd.threads(), simd.vectorBits(), storage)) {
                for (int[] s : shapes) {
                    int in = s[0], out = s[1];
                    Tensor x = random(rnd, 1f, 1, in), b = random(rnd, 1f, out);
                    PackedLinear w = (PackedLinear) withStorage.prepareLinear(random(rnd, 0.1f, out, in), b, WeightLayout.OUT_IN);
                    float[] y = withStorage.linear(x, w).toFloatArray();
                    float[] expected = b.toFloatArray();
                    withStorage.gemm(x.toFloatArray(), 0, 1, w, expected, 0, true);
                    assertTrue(Arrays.equals(expected, y), simd.describe() + " " + storage + " 1×" + in + "→" + out);
                }
            }
        }
    }

    /**
     * The 6-row tiles (GEMMs of few rows) give the same bits as the 4-row tiles they replace: the same FMAs in the same
     * order for every output, whatever the rows left over, K blocks, edge panels, weight storage or threads. At 512 bits
     * this also checks the bias read by the first K block's tiles (on with the 6-row tiles) against the 4-row tiles
     * from the bias copied into Y (sixRowTileMaxRows = 0 turns both off).
     */
    @ParameterizedTest
    @MethodSource("backends")
    void sixRowTilesGiveTheBitsOfFourRowTiles(SimdBackend simd) {
        Random rnd = new Random(5);
        int[][] shapes = {{12, 384, 192}, {16, 600, 128}, {17, 64, 100}, {26, 1100, 130}, {35, 520, 64}, {140, 70, 64}};
        for (PackedLinear.Storage storage : PackedLinear.Storage.values()) {
            try (SimdBackend withStorage = new SimdBackend(simd.threads(), simd.vectorBits(), storage)) {
                for (int[] s : shapes) {
                    int m = s[0], in = s[1], out = s[2];
                    Tensor x = random(rnd, 1f, m, in);
                    LinearWeight w = withStorage.prepareLinear(random(rnd, 1f, out, in), random(rnd, 1f, out), WeightLayout.OUT_IN);
                    withStorage.sixRowTileMaxRows = Integer.MAX_VALUE;
                    float[] six = withStorage.linear(x, w).toFloatArray();
                    withStorage.sixRowTileMaxRows = 0;
                    float[] four = withStorage.linear(x, w).toFloatArray();
                    assertTrue(Arrays.equals(four, six), simd.describe() + " " + storage + " " + m + "×" + in + "→" + out);
                }
            }
        }
    }

    /** Row counts for {@link #oneRowFirstSweepsGiveTheBitsOfSixRowPairs}: 2–33, then up to a row block ({@value SimdBackend#MC}), and 141 = a block and 13 rows (its own one-row first sweep). */
    private static final int[] ONE_ROW_FIRST_ROWS = IntStream.concat(IntStream.rangeClosed(2, 33),
            IntStream.of(47, 64, 101, 127, 128, 141)).toArray();

    /**
     * Few rows whose weights stream (forced here: {@code streamedWeightBytes} = 0): each panel block swept first by one
     * row, then 6-, 4-, 3- and 2-row tiles ({@link SimdBackend#sweepOneRowFirst}) — the same bits as the 6-row pairs
     * (one-row tiles off), for every row count up to 33 (each remainder after the first row) and some up to a row block
     * and past it, K blocks, an edge panel, bf16 and int8 panels (which keep the pairs), 1 and 2 threads; and close to
     * the scalar reference.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void oneRowFirstSweepsGiveTheBitsOfSixRowPairs(SimdBackend simd) {
        Random rnd = new Random(29);
        int[][] kn = {{384, 192}, {1100, 130}, {70, 64}};
        for (PackedLinear.Storage storage : PackedLinear.Storage.values()) {
            try (SimdBackend withStorage = new SimdBackend(simd.threads(), simd.vectorBits(), storage)) {
                withStorage.streamedWeightBytes = 0;
                for (int[] s : kn) {
                    int in = s[0], out = s[1];
                    Tensor w = random(rnd, 1f, out, in), b = random(rnd, 1f, out);
                    LinearWeight packed = withStorage.prepareLinear(w, b, WeightLayout.OUT_IN);
                    for (int m : ONE_ROW_FIRST_ROWS) {
                        Tensor x = random(rnd, 1f, m, in);
                        withStorage.oneRowSweepMaxRows = Integer.MAX_VALUE;
                        Tensor oneRow = withStorage.linear(x, packed);
                        withStorage.oneRowSweepMaxRows = 0;
                        float[] pairs = withStorage.linear(x, packed).toFloatArray();
                        String what = simd.describe() + " " + storage + " " + m + "×" + in + "→" + out;
                        assertTrue(Arrays.equals(pairs, oneRow.toFloatArray()), what);
                        if (storage == PackedLinear.Storage.F32) {
                            assertClose(REFERENCE.linear(x, REFERENCE.prepareLinear(w, b, WeightLayout.OUT_IN)), oneRow,
                                    1e-5 + 1e-7 * in, 1e-5, what);
                        }
                    }
                }
            }
        }
    }

    /**
     * The first K block's tiles start from the bias ({@code biasInTiles}, {@link Kernels#gemmTile6From} and the 4-, 3-,
     * 2- and 1-row tiles and the one-row loop from it) instead of from a copy of the bias in Y: the same bits, for 1–33
     * rows and some past a row block (257: a third block of one row, a GEMV, whose edge panel takes the copy), one and
     * three K blocks, an edge panel (whose columns still take the copy),
     * weights in cache (6-row pairs) and streamed (one row first), bf16 and int8 panels, 1 and 2 threads. Only the 512-bit
     * backends take the bias into their tiles (it needs the 6-row tile's family); at the other widths the test checks that
     * the switch changes nothing.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void biasInTilesGivesTheBitsOfTheBiasCopiedIntoY(SimdBackend simd) {
        Random rnd = new Random(31);
        int[][] kn = {{384, 192}, {1100, 130}, {70, 64}, {33, 17}};
        int[] rows = IntStream.concat(IntStream.rangeClosed(1, 33), IntStream.of(47, 64, 101, 128, 141, 257)).toArray();
        for (PackedLinear.Storage storage : PackedLinear.Storage.values()) {
            try (SimdBackend withStorage = new SimdBackend(simd.threads(), simd.vectorBits(), storage)) {
                for (long streamed : new long[]{0, Long.MAX_VALUE}) {
                    withStorage.streamedWeightBytes = streamed;
                    for (int[] s : kn) {
                        int in = s[0], out = s[1];
                        Tensor w = random(rnd, 1f, out, in), b = random(rnd, 1f, out);
                        LinearWeight packed = withStorage.prepareLinear(w, b, WeightLayout.OUT_IN);
                        for (int m : rows) {
                            Tensor x = random(rnd, 1f, m, in);
                            withStorage.biasInTiles = true;
                            float[] fromBias = withStorage.linear(x, packed).toFloatArray();
                            withStorage.biasInTiles = false;
                            float[] copied = withStorage.linear(x, packed).toFloatArray();
                            assertTrue(Arrays.equals(copied, fromBias), simd.describe() + " " + storage + " streamed "
                                    + (streamed == 0) + " " + m + "×" + in + "→" + out);
                        }
                    }
                }
            }
        }
    }

    /**
     * A backend takes its weights to stream once it has packed more bytes of them than {@code streamedWeightBytes}; a
     * repack counts only the weights it cannot pack into the previous one's arrays.
     */
    @Test
    void weightsStreamOncePackedWeightsPassTheCache() {
        assertTrue(SimdBackend.lastLevelCacheBytes() > 0);
        try (SimdBackend simd = new SimdBackend(1, 0)) {
            simd.streamedWeightBytes = 100_000;
            Random rnd = new Random(31);
            simd.prepareLinear(random(rnd, 1f, 64, 300), null, WeightLayout.OUT_IN);   // 76,800 bytes + the bias
            assertFalse(simd.weightsStream());
            simd.prepareLinear(random(rnd, 1f, 64, 300), null, WeightLayout.OUT_IN);
            assertTrue(simd.weightsStream());
        }
        // a repack into the previous weight's arrays adds nothing; one that must pack afresh counts its bytes
        try (SimdBackend simd = new SimdBackend(1, 0)) {
            simd.streamedWeightBytes = 100_000;
            Random rnd = new Random(32);
            LinearWeight w = simd.prepareLinear(random(rnd, 1f, 64, 300), null, WeightLayout.OUT_IN);
            for (int step = 0; step < 3; step++) {
                assertSame(w, simd.repackLinear(w, random(rnd, 1f, 64, 300), null, WeightLayout.OUT_IN));
            }
            assertFalse(simd.weightsStream());
            assertNotSame(w, simd.repackLinear(null, random(rnd, 1f, 64, 300), null, WeightLayout.OUT_IN));
            assertTrue(simd.weightsStream());
        }
    }

    /**
     * The fused dense + residual + LayerNorm gives the bits of linear, then addLayerNorm: in the GEMM's epilogue where a
     * task owns whole rows (one thread, or many row blocks), after the product where the threads share the rows by
     * panels; GEMVs, row tails and edge panels included.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void linearAddLayerNormGivesTheBitsOfLinearThenAddLayerNorm(SimdBackend simd) {
        Random rnd = new Random(23);
        int[][] shapes = {{1, 64, 48}, {9, 100, 70}, {16, 384, 384}, {66, 200, 130}, {128, 384, 384}, {300, 64, 200}, {1030, 40, 70}};
        for (int[] s : shapes) {
            int m = s[0], in = s[1], out = s[2];
            Tensor x = random(rnd, 1f, m, in), residual = random(rnd, 1f, m, out);
            Tensor gamma = random(rnd, 1f, out), beta = random(rnd, 1f, out);
            LinearWeight w = simd.prepareLinear(random(rnd, 1f, out, in), random(rnd, 1f, out), WeightLayout.OUT_IN);
            float[] expected = simd.addLayerNorm(simd.linear(x, w), residual, gamma, beta, 1e-12f).toFloatArray();
            float[] fused = simd.linearAddLayerNorm(x, w, 0.1f, residual, gamma, beta, 1e-12f).toFloatArray();
            assertTrue(Arrays.equals(expected, fused), simd.describe() + " " + m + "×" + in + "→" + out);
        }
        Tensor x = random(rnd, 1f, 4, 10), w = random(rnd, 1f, 6, 10);
        LinearWeight packed = simd.prepareLinear(w, null, WeightLayout.OUT_IN);
        assertThrows(ShapeException.class, () -> simd.linearAddLayerNorm(x, packed, 0f, random(rnd, 1f, 4, 7),
                random(rnd, 1f, 6), random(rnd, 1f, 6), 1e-5f), "a residual of another shape");
    }

    /**
     * {@link Kernels#addLayerNormRows} (four rows side by side in VectorKernels) gives the bits of add, then layerNorm,
     * row after row, at every width and the scalar kernels: rows of fewer floats than a vector, with a tail, wide ones;
     * row counts that leave 1–3 rows after the groups of four; large values (cancellation in the mean).
     */
    @Test
    void addLayerNormRowsGivesTheBitsOfAddThenLayerNormRowByRow() {
        Random rnd = new Random(29);
        for (int bits : new int[] {512, 256, 128, SimdBackend.SCALAR_BITS}) {
            Kernels kernels = Kernels.forBits(bits);
            for (int n : new int[] {1, 3, 8, 16, 17, 37, 100, 384, 768}) {
                for (int rows : new int[] {1, 2, 3, 4, 5, 7, 8, 9, 13}) {
                    float[] y = random(rnd, 3f, rows + 1, n).toFloatArray(), res = random(rnd, 3f, rows + 2, n).toFloatArray();
                    float[] gamma = random(rnd, 1f, n).toFloatArray(), beta = random(rnd, 1f, n).toFloatArray();
                    if (rows % 2 == 1) {
                        for (int i = 0; i < y.length; i++) {
                            y[i] += 1e4f;   // a large common offset: the deviations are what is left after the mean
                        }
                    }
                    float[] expected = y.clone(), actual = y.clone();
                    for (int r = 0; r < rows; r++) {   // rows from float 1·n of y and 2·n of the residual
                        kernels.add(expected, (r + 1) * n, res, (r + 2) * n, expected, (r + 1) * n, n);
                        kernels.layerNorm(expected, (r + 1) * n, n, gamma, beta, 1e-12f);
                    }
                    kernels.addLayerNormRows(actual, n, res, 2 * n, n, rows, gamma, beta, 1e-12f);
                    assertTrue(Arrays.equals(expected, actual), bits + " bits, n " + n + ", " + rows + " rows");
                }
            }
        }
    }

    /**
     * The fused call on 1 and 2 threads for float32, bf16 and int8 panels at GEMV and small-GEMM shapes above the
     * 2-thread threshold (guided GEMV runs, then the rows normalised after the product), with a strided residual.
     */
    @Test
    void linearAddLayerNormGivesTheBitsOfTheUnfusedCallsForEveryStorageAndThreadCount() {
        Random rnd = new Random(25);
        for (PackedLinear.Storage storage : PackedLinear.Storage.values()) {
            for (int threads : new int[] {1, 2}) {
                try (SimdBackend simd = new SimdBackend(threads, 0, storage)) {
                    for (int m : new int[] {1, 4, 130}) {
                        int in = 768, out = 768;
                        Tensor x = random(rnd, 1f, m, in);
                        Tensor residual = random(rnd, 1f, m, out + 5).narrow(1, 3, out);   // rows out + 5 floats apart
                        Tensor gamma = random(rnd, 1f, out), beta = random(rnd, 1f, out);
                        LinearWeight w = simd.prepareLinear(random(rnd, 0.05f, out, in), random(rnd, 1f, out), WeightLayout.OUT_IN);
                        float[] expected = simd.addLayerNorm(simd.linear(x, w), residual, gamma, beta, 1e-12f).toFloatArray();
                        float[] fused = simd.linearAddLayerNorm(x, w, 0f, residual, gamma, beta, 1e-12f).toFloatArray();
                        assertTrue(Arrays.equals(expected, fused), storage + " " + threads + " threads, " + m + " rows");
                    }
                }
            }
        }
    }

    /**
     * A GEMM of few row blocks split into 1–4 runs of panels per thread ({@link SimdBackend#gemmChunksPerThread}, the knob
     * of {@value SimdBackend#GEMM_CHUNKS_PROPERTY} and of the benchmarks' PoolBudget) gives 1 thread's bits: each column
     * is one panel's, in the same order, whichever thread runs it — plain, with GELU and with the LayerNorm epilogue, at
     * an encoder's 16 and 128 rows, at tails of rows and of columns, and at 3 row blocks.
     */
    @Test
    void gemmRunsOfPanelsPerThreadGiveOneThreadsBits() {
        try (SimdBackend one = new SimdBackend(1, 0); SimdBackend two = new SimdBackend(2, 0)) {
            assertTwoThreadsGiveOneThreadsBits(one, two, new Random(26),
                    new int[][] {{128, 384, 384}, {16, 384, 1536}, {16, 1536, 384}, {37, 200, 450}, {100, 200, 450},
                            {37, 96, 130}, {258, 64, 192}},
                    new String[] {"1 run per thread", "2 runs per thread", "3 runs per thread", "4 runs per thread"},
                    setting -> two.gemmChunksPerThread = setting + 1);
        }
    }

    /**
     * For each shape {m, in, out}: {@code two}'s plain, GELU and add + LayerNorm GEMMs under each of the settings that
     * {@code configure} makes (by index, named in {@code settings}) give {@code one}'s bits.
     */
    private static void assertTwoThreadsGiveOneThreadsBits(SimdBackend one, SimdBackend two, Random rnd, int[][] shapes,
                                                           String[] settings, IntConsumer configure) {
        for (int[] shape : shapes) {
            int m = shape[0], in = shape[1], out = shape[2];
            Tensor x = random(rnd, 1f, m, in), w = random(rnd, 0.05f, out, in), b = random(rnd, 0.1f, out);
            Tensor residual = random(rnd, 1f, m, out), gamma = random(rnd, 1f, out), beta = random(rnd, 1f, out);
            LinearWeight w1 = one.prepareLinear(w, b, WeightLayout.OUT_IN), w2 = two.prepareLinear(w, b, WeightLayout.OUT_IN);
            float[] plain = one.linear(x, w1).toFloatArray();
            float[] gelu = one.linear(x, w1, Activation.GELU).toFloatArray();
            float[] normed = one.linearAddLayerNorm(x, w1, 0f, residual, gamma, beta, 1e-12f).toFloatArray();
            for (int setting = 0; setting < settings.length; setting++) {
                configure.accept(setting);
                String what = Arrays.toString(shape) + ", " + settings[setting];
                assertTrue(Arrays.equals(plain, two.linear(x, w2).toFloatArray()), what);
                assertTrue(Arrays.equals(gelu, two.linear(x, w2, Activation.GELU).toFloatArray()), what + ", GELU");
                assertTrue(Arrays.equals(normed, two.linearAddLayerNorm(x, w2, 0f, residual, gamma, beta, 1e-12f).toFloatArray()),
                        what + ", add + LayerNorm");
            }
        }
    }

    /**
     * The encoder path gives the bits of the plain operations: dense + add + LayerNorm in one call (1 and 2 threads) those
     * of linear, then the backend's addLayerNorm; attention on 2 threads, its heads in runs of neighbours (rows of equal
     * lengths) or claimed one by one (padded rows of unequal lengths), those of 1 thread.
     */
    @Test
    void encoderPathGivesTheBitsOfThePlainOperations() {
        try (SimdBackend one = new SimdBackend(1, 0); SimdBackend two = new SimdBackend(2, 0)) {
            Random rnd = new Random(24);
            Tensor x = random(rnd, 1f, 128, 96), residual = random(rnd, 1f, 128, 192), gamma = random(rnd, 1f, 192), beta = random(rnd, 1f, 192);
            Tensor w = random(rnd, 1f, 192, 96), b = random(rnd, 1f, 192);
            for (SimdBackend simd : List.of(one, two)) {   // 1 thread: rows normalized in the epilogue; 2: after the product
                LinearWeight packed = simd.prepareLinear(w, b, WeightLayout.OUT_IN);
                assertTrue(Arrays.equals(simd.addLayerNorm(simd.linear(x, packed), residual, gamma, beta, 1e-5f).toFloatArray(),
                        simd.linearAddLayerNorm(x, packed, 0f, residual, gamma, beta, 1e-5f).toFloatArray()), simd.describe());
            }
            Tensor q = random(rnd, 1f, 3, 40, 96), k = random(rnd, 1f, 3, 40, 96), v = random(rnd, 1f, 3, 40, 96);
            assertTrue(Arrays.equals(one.attention(q, k, v, 6, AttentionMask.NONE, 0.25f, false).context().toFloatArray(),
                    two.attention(q, k, v, 6, AttentionMask.NONE, 0.25f, false).context().toFloatArray()));
            // rows of unequal lengths (padding): the heads are claimed one by one, same bits
            float[] pad = new float[3 * 40];
            for (int i = 0; i < pad.length; i++) {
                pad[i] = i % 40 < (i < 40 ? 40 : i < 80 ? 9 : 25) ? 1f : 0f;
            }
            AttentionMask padding = AttentionMask.padding(Tensor.of(pad, 3, 40));
            assertTrue(Arrays.equals(one.attention(q, k, v, 6, padding, 0.25f, false).context().toFloatArray(),
                    two.attention(q, k, v, 6, padding, 0.25f, false).context().toFloatArray()));
        }
    }

    /** A tensor of bfloat16 values: {@code t}'s values rounded to bf16 (as {@link Kernels#toBf16}). */
    static Tensor bf16(Tensor t) {
        float[] v = t.toFloatArray();
        MemorySegment seg = Arena.ofAuto().allocate(2L * v.length, 2);
        for (int i = 0; i < v.length; i++) {
            seg.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2L * i, Kernels.toBf16(v[i]));
        }
        return Tensor.wrap(seg, DType.BF16, t.shape());
    }

    /** BF16 weights stay bf16 in the packed panels and give what their float upcast gives (only the summation order differs). */
    @ParameterizedTest
    @MethodSource("backends")
    void linearWithBf16WeightsMatchesTheUpcastWeights(SimdBackend simd) {
        Random rnd = new Random(21);
        for (int[] s : LINEAR_SHAPES) {
            int m = s[0], in = s[1], out = s[2];
            Tensor x = random(rnd, 1f, m, in);
            for (WeightLayout layout : WeightLayout.values()) {
                Tensor w = bf16(layout == WeightLayout.OUT_IN ? random(rnd, 1f, out, in) : random(rnd, 1f, in, out));
                Tensor b = random(rnd, 1f, out);
                LinearWeight packed = simd.prepareLinear(w, b, layout);
                assertTrue(((PackedLinear) packed).bf16(), "a BF16 weight is kept in bf16");
                Tensor expected = REFERENCE.linear(x, REFERENCE.prepareLinear(w.toF32(), b, layout));
                assertClose(expected, simd.linear(x, packed), 1e-5 + 1e-7 * in, 1e-5,
                        simd.describe() + " bf16 linear " + m + "×" + in + "→" + out + " " + layout);
            }
        }
    }

    @Test
    void bf16RoundsToNearestEvenLikePyTorch() {
        assertEquals((short) 0x3F80, Kernels.toBf16(1f));
        assertEquals((short) 0x3F80, Kernels.toBf16(Float.intBitsToFloat(0x3F808000)));   // tie → even (down)
        assertEquals((short) 0x3F82, Kernels.toBf16(Float.intBitsToFloat(0x3F818000)));   // tie → even (up)
        assertEquals((short) 0x3F81, Kernels.toBf16(Float.intBitsToFloat(0x3F808001)));   // above the tie
        assertEquals((short) 0xC040, Kernels.toBf16(-3f));
        assertEquals((short) 0x7F80, Kernels.toBf16(Float.POSITIVE_INFINITY));
        assertEquals((short) 0x7F80, Kernels.toBf16(Float.MAX_VALUE));                        // rounds up to ∞, as PyTorch
        assertTrue(Float.isNaN(Kernels.bf16ToFloat(Kernels.toBf16(Float.NaN))));
        assertEquals(0.333984375f, Kernels.bf16ToFloat(Kernels.toBf16(1f / 3)));
    }

    /** {@value SimdBackend#WEIGHTS_PROPERTY}=bf16: float weights are rounded to bf16 once, at packing. */
    @Test
    void bf16WeightsOnRequestRoundFloatWeights() {
        try (SimdBackend simd = backendWith(SimdBackend.WEIGHTS_PROPERTY, "bf16", 2)) {
            assertTrue(simd.describe().contains("bf16 weights"), simd.describe());
            Random rnd = new Random(22);
            for (int[] s : new int[][] {{1, 768, 2304}, {7, 100, 70}, {130, 70, 97}}) {
                Tensor x = random(rnd, 1f, s[0], s[1]), w = random(rnd, 1f, s[2], s[1]), b = random(rnd, 1f, s[2]);
                Tensor expected = REFERENCE.linear(x, REFERENCE.prepareLinear(bf16(w).toF32(), b, WeightLayout.OUT_IN));
                assertClose(expected, simd.linear(x, simd.prepareLinear(w, b, WeightLayout.OUT_IN)), 1e-5 + 1e-7 * s[1], 1e-5,
                        "bf16-rounded linear " + s[0] + "×" + s[1] + "→" + s[2]);
            }
        }
        try (SimdBackend simd8 = backendWith(SimdBackend.WEIGHTS_PROPERTY, "int8", 1)) {
            assertTrue(simd8.describe().contains("int8 weights"), simd8.describe());
        }
        JformersException e = assertThrows(JformersException.class, () -> backendWith(SimdBackend.WEIGHTS_PROPERTY, "int4", 1));
        assertTrue(e.getMessage().contains(SimdBackend.WEIGHTS_PROPERTY), e.getMessage());
    }

    /** A backend built while the system property is set to value (cleared again whether or not it builds). */
    private static SimdBackend backendWith(String property, String value, int threads) {
        System.setProperty(property, value);
        try {
            return new SimdBackend(threads, 0);
        } finally {
            System.clearProperty(property);
        }
    }

    // ---------------------------------------------------------------- int8 weights

    /** Each width and thread count again, keeping float weights in int8 (what {@value SimdBackend#WEIGHTS_PROPERTY}=int8 does). */
    static List<SimdBackend> int8Backends() {
        return INT8_BACKENDS;
    }

    static final List<SimdBackend> INT8_BACKENDS = new ArrayList<>();

    static {
        for (SimdBackend b : BACKENDS) {
            INT8_BACKENDS.add(new SimdBackend(b.threads(), b.vectorBits(), PackedLinear.Storage.INT8));
        }
    }

    @AfterAll
    static void closeInt8() {
        INT8_BACKENDS.forEach(SimdBackend::close);
    }

    /**
     * Q8_0 round trip: per column and block of 32 input rows, the scale is the block's max |w| / 127 rounded to 11
     * significant bits (a 16-bit scale, within 2⁻¹¹ of it) and every weight comes back within half that scale (the
     * rounding of q = round(w / scale); float rounding adds ~1e-7 relative), the block's largest |w| as ±127.
     * Shapes whose in is not a multiple of 32 (a short last block), an all-zero block, outliers.
     */
    @ParameterizedTest
    @MethodSource("int8Backends")
    void int8WeightsComeBackWithinHalfAScale(SimdBackend simd) {
        Random rnd = new Random(31);
        for (int[] s : new int[][] {{70, 97}, {32, 64}, {1, 5}, {100, 130}}) {
            int in = s[0], out = s[1];
            float[] w = random(rnd, 1f, out, in).toFloatArray();
            w[3 % w.length] = 40f;                        // an outlier: its block gets a coarse scale, the others don't
            for (int t = 0; t < Math.min(in, 32); t++) {   // column 1's first block all zero: the smallest scale (2⁻⁴⁰), q = 0
                w[Math.min(1, out - 1) * in + t] = out > 1 ? 0f : w[t];
            }
            Tensor weight = Tensor.of(w, out, in);
            PackedLinear packed = (PackedLinear) simd.prepareLinear(weight, null, WeightLayout.OUT_IN);
            assertTrue(packed.int8() && packed.panels == null && packed.halfPanels == null, simd.describe());
            for (int n = 0; n < out; n++) {
                int p = n / packed.panelWidth, j = n % packed.panelWidth;
                for (int t0 = 0; t0 < in; t0 += PackedLinear.QBLOCK) {
                    float max = 0;
                    for (int t = t0; t < Math.min(in, t0 + PackedLinear.QBLOCK); t++) {
                        max = Math.max(max, Math.abs(w[n * in + t]));
                    }
                    float scale = PackedLinear.scale(packed.scales, packed.scaleRow(p, t0), j);
                    String what = "scale of column " + n + " block " + t0;
                    assertEquals(PackedLinear.scaleOf(PackedLinear.scaleBits(max / 127)), scale, 0f, what);
                    assertTrue(max == 0 || Math.abs(scale - max / 127) <= max / 127 * 0x1p-11f, what + ": " + scale + " for max " + max);
                    for (int t = t0; t < Math.min(in, t0 + PackedLinear.QBLOCK); t++) {
                        float err = Math.abs(packed.weightAt(p, t, j) - w[n * in + t]);
                        assertTrue(err <= scale / 2 * (1 + 1e-6f), "w[" + n + "][" + t + "] = " + w[n * in + t] + " came back as "
                                + packed.weightAt(p, t, j) + " (block max " + max + ")");
                        if (Math.abs(w[n * in + t]) == max && max > 0) {
                            int q = packed.quantPanels[packed.panelRow(p, t) + j];
                            assertEquals(127, Math.abs(q), "the block's largest |w| as q");
                        }
                    }
                }
            }
        }
    }

    /**
     * The 16-bit scales two to an int: column j of a scale row in int j / 32 · 16 + j mod 16, the high half for the
     * first 16 of each run of 32 columns and the low half for the next 16 — every column of every panel width its own
     * half, the row no longer than it needs. And the 16-bit scale itself: 11 significant bits rounded to nearest,
     * 2⁻⁴⁰ … 2²⁴, scales below the range at the smallest one, above it refused.
     */
    @Test
    void int8ScalesAreSixteenBitsTwoToAnInt() {
        for (int nr : new int[] {8, 12, 24, 64, 96}) {
            int ints = PackedLinear.scaleInts(nr);
            assertEquals(nr <= 16 ? nr : nr / 32 * 16 + Math.min(nr % 32, 16), ints);
            Set<Integer> halves = new HashSet<>();
            int[] row = new int[ints];
            for (int j = 0; j < nr; j++) {
                int i = PackedLinear.scaleIndex(j);
                assertTrue(i >= 0 && i < ints && halves.add(2 * i + (j & 16) / 16), "nr " + nr + " column " + j);
                row[i] |= PackedLinear.scaleBits(j + 1f) << (16 - (j & 16));
            }
            for (int j = 0; j < nr; j++) {
                assertEquals(j + 1f, PackedLinear.scale(row, 0, j), "nr " + nr + " column " + j);
            }
        }
        assertEquals(1f, PackedLinear.scaleOf(PackedLinear.scaleBits(1f)));
        assertEquals(1f, PackedLinear.scaleOf(PackedLinear.scaleBits(Math.nextUp(1f))));
        assertEquals(1f, PackedLinear.scaleOf(PackedLinear.scaleBits(1f + 0x1p-11f - 0x1p-20f)));
        assertEquals(1f + 0x1p-10f, PackedLinear.scaleOf(PackedLinear.scaleBits(1f + 0x1p-11f)));
        assertEquals(2f, PackedLinear.scaleOf(PackedLinear.scaleBits(Math.nextDown(2f))));
        assertEquals(0.1f, PackedLinear.scaleOf(PackedLinear.scaleBits(0.1f)), 0.1f * 0x1p-11f);
        assertEquals(0x1p-40f, PackedLinear.scaleOf(PackedLinear.scaleBits(0f)));
        assertEquals(0x1p-40f, PackedLinear.scaleOf(PackedLinear.scaleBits(1e-20f)));
        assertEquals(0x1p-40f, PackedLinear.scaleOf(0));
        assertEquals(0x1p23f * (2 - 0x1p-10f), PackedLinear.scaleOf(0xFFFF));
        assertEquals(0xFFFF, PackedLinear.scaleBits(0x1p23f * (2 - 0x1p-10f)));
        assertThrows(JformersException.class, () -> PackedLinear.scaleBits(0x1p24f));
        assertEquals(0xFFFF, PackedLinear.scaleBits(Math.nextDown(PackedLinear.MAX_SCALE)));
        assertThrows(JformersException.class, () -> PackedLinear.scaleBits(PackedLinear.MAX_SCALE));
    }

    /**
     * Packing int8 weights at the ends of the scales' range: tiny blocks (1e-12, subnormals) take the smallest scale
     * and stay within half of it; a block of |w| up to 2.05e9 packs; one of 2.14e9 is refused, naming the weight's
     * shape and column.
     */
    @Test
    void int8PackingAtTheEndsOfTheScaleRange() {
        try (SimdBackend simd = backendWith(SimdBackend.WEIGHTS_PROPERTY, "int8", 1)) {
            float[] w = new float[3 * 64];   // [3, 64]: rows 0, 1, 2 are output columns 0, 1, 2
            for (int t = 0; t < 64; t++) {
                w[t] = 1e-12f * (t % 7 - 3);
                w[64 + t] = t == 5 ? Float.MIN_VALUE : 0f;
                w[128 + t] = 2.05e9f * (t % 2 == 0 ? 1 : -1) * (t + 1) / 64;
            }
            LinearWeight packed = simd.prepareLinear(Tensor.of(w, 3, 64), null, WeightLayout.OUT_IN);
            float[] identity = new float[64 * 64];   // x = I: y[t, j] = w[j, t] as stored, every weight (the dequantising GEMM)
            for (int t = 0; t < 64; t++) {
                identity[t * 64 + t] = 1f;
            }
            float[] y = simd.linear(Tensor.of(identity, 64, 64), packed).toFloatArray();
            float half = Math.abs(w[128 + 63]) / 254 * 1.001f;   // half the largest block's scale
            for (int t = 0; t < 64; t++) {
                assertEquals(w[t], y[t * 3], 0x1p-41f, "1e-12 block, row " + t);
                assertEquals(w[64 + t], y[t * 3 + 1], 0x1p-41f, "subnormal block, row " + t);
                assertEquals(w[128 + t], y[t * 3 + 2], half, "2.05e9 block, row " + t);
            }
            assertEquals(3 * 0x1p-40f, y[13 * 3]);   // 3e-12 is 3 of the smallest scale (not rounded to 0)
            float[] x = new float[64];
            x[13] = 1f;   // the GEMV (m = 1): y_j = w[j, 13] as stored
            float[] gemv = simd.linear(Tensor.of(x, 1, 64), packed).toFloatArray();
            assertEquals(y[13 * 3], gemv[0]);
            assertEquals(w[128 + 13], gemv[2], half);
            w[128 + 63] = 2.14e9f;
            JformersException e = assertThrows(JformersException.class,
                    () -> simd.prepareLinear(Tensor.of(w, 3, 64), null, WeightLayout.OUT_IN));
            assertTrue(e.getMessage().contains("[3, 64]") && e.getMessage().contains("column 2"), e.getMessage());
        }
    }

    /**
     * The int8 kernels (GEMV at m = 1, the dequantising GEMM above) compute the product with the dequantised
     * weights: equal to the float reference over those weights up to float summation order.
     */
    @ParameterizedTest
    @MethodSource("int8Backends")
    void int8LinearEqualsTheFloatProductOverTheDequantisedWeights(SimdBackend simd) {
        Random rnd = new Random(32);
        for (int[] s : LINEAR_SHAPES) {
            int m = s[0], in = s[1], out = s[2];
            Tensor x = random(rnd, 1f, m, in);
            for (WeightLayout layout : WeightLayout.values()) {
                Tensor w = layout == WeightLayout.OUT_IN ? random(rnd, 1f, out, in) : random(rnd, 1f, in, out);
                Tensor b = random(rnd, 1f, out);
                PackedLinear packed = (PackedLinear) simd.prepareLinear(w, b, layout);
                float[] dequantised = new float[out * in];   // [out, in]
                for (int n = 0; n < out; n++) {
                    for (int t = 0; t < in; t++) {
                        dequantised[n * in + t] = packed.weightAt(n / packed.panelWidth, t, n % packed.panelWidth);
                    }
                }
                Tensor expected = REFERENCE.linear(x, REFERENCE.prepareLinear(Tensor.of(dequantised, out, in), b, WeightLayout.OUT_IN));
                assertClose(expected, simd.linear(x, packed), 1e-5 + 1e-7 * in, 1e-5,
                        simd.describe() + " int8 linear " + m + "×" + in + "→" + out + " " + layout);
            }
        }
    }

    /**
     * Training re-packs its master weights after every optimizer step: into the same arrays, for every storage
     * (float, bf16, int8), leaving exactly what a fresh pack of the new values holds — including an int8 block
     * that has become all zeros and partial panels whose padding columns must stay 0.
     */
    @Test
    void repackLinearWritesTheNewValuesIntoTheSameArrays() {
        Random rnd = new Random(33);
        for (PackedLinear.Storage storage : PackedLinear.Storage.values()) {
            for (int threads : new int[] {1, 2}) {   // 1: one task packs both panels, the partial one after a full one
                try (SimdBackend simd = new SimdBackend(threads, 0, storage)) {
                    for (WeightLayout layout : WeightLayout.values()) {
                        int in = 70, out = 97;
                        int[] shape = layout == WeightLayout.OUT_IN ? new int[] {out, in} : new int[] {in, out};
                        Tensor w = random(rnd, 1f, shape), b = random(rnd, 1f, out);
                        PackedLinear packed = (PackedLinear) simd.prepareLinear(w, b, layout);
                        float[] next = random(rnd, 1f, shape).toFloatArray();
                        Arrays.fill(next, 0, 40, 0f);   // part of an int8 scale block becomes zero
                        Tensor w2 = Tensor.of(next, shape), b2 = random(rnd, 1f, out);
                        PackedLinear repacked = (PackedLinear) simd.repackLinear(packed, w2, b2, layout);
                        PackedLinear fresh = (PackedLinear) simd.prepareLinear(w2, b2, layout);
                        String what = storage + " " + layout + ", " + threads + " thread(s)";
                        assertSame(packed, repacked, what + ": packed into the same arrays");
                        assertTrue(Arrays.equals(fresh.panels, repacked.panels) && Arrays.equals(fresh.halfPanels, repacked.halfPanels)
                                && Arrays.equals(fresh.quantPanels, repacked.quantPanels) && Arrays.equals(fresh.scales, repacked.scales)
                                && Arrays.equals(fresh.bias, repacked.bias), what + ": equal to a fresh pack");
                        Tensor x = random(rnd, 1f, 5, in);
                        assertClose(simd.linear(x, fresh), simd.linear(x, repacked), 0, 0, what);
                        // re-packed without a bias: the old bias must not stay behind
                        simd.repackLinear(repacked, w2, null, layout);
                        assertClose(simd.linear(x, (PackedLinear) simd.prepareLinear(w2, null, layout)), simd.linear(x, repacked), 0, 0,
                                what + " without a bias");
                        Tensor other = Tensor.of(random(rnd, 1f, out + 1, in).toFloatArray(), out + 1, in);   // another shape: a new weight
                        assertNotSame(repacked, simd.repackLinear(repacked, other, null, WeightLayout.OUT_IN), what);
                        for (int p = 0; p < fresh.panelCount; p++) {   // columns past out read as 0
                            for (int j = out - p * fresh.panelWidth; j < fresh.panelWidth; j++) {
                                for (int t = 0; t < in; t++) {
                                    assertEquals(0f, repacked.weightAt(p, t, j), what + ": padding column " + (p * fresh.panelWidth + j));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** A weight with a NaN or an infinity cannot be given a scale: refused with a message, not quantised to garbage. */
    @Test
    void int8RefusesNonFiniteWeights() {
        try (SimdBackend simd = new SimdBackend(1, 0, PackedLinear.Storage.INT8)) {
            assertTrue(simd.describe().contains("int8 weights"), simd.describe());
            Tensor w = Tensor.of(new float[] {1, Float.NaN, 3, 4}, 2, 2);
            JformersException e = assertThrows(JformersException.class, () -> simd.prepareLinear(w, null, WeightLayout.OUT_IN));
            assertTrue(e.getMessage().contains("finite"), e.getMessage());
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void linearWithAFusedActivationMatchesLinearThenActivation(SimdBackend simd) {
        Random rnd = new Random(11);
        // tails of the row tile and of panels, K blocks (in = 1100), GEMVs, and a 3-d input
        int[][] shapes = {{1, 7, 5}, {5, 33, 49}, {130, 70, 97}, {9, 1100, 70}, {1, 200, 1000}, {300, 64, 256}};
        for (int[] s : shapes) {
            Tensor x = random(rnd, 2f, s[0], s[1]), w = random(rnd, 1f, s[2], s[1]), b = random(rnd, 1f, s[2]);
            LinearWeight ref = REFERENCE.prepareLinear(w, b, WeightLayout.OUT_IN), packed = simd.prepareLinear(w, b, WeightLayout.OUT_IN);
            for (Activation act : Activation.values()) {
                Tensor expected = REFERENCE.activation(REFERENCE.linear(x, ref), act);
                assertClose(expected, simd.linear(x, packed, act), 1e-5 + 1e-7 * s[1], 1e-5,
                        simd.describe() + " linear+" + act + " " + s[0] + "×" + s[1] + "→" + s[2]);
            }
        }
        Tensor x3 = random(rnd, 1f, 2, 6, 23), w = random(rnd, 1f, 19, 23);
        assertClose(REFERENCE.activation(REFERENCE.linear(x3, REFERENCE.prepareLinear(w, null, WeightLayout.OUT_IN)), Activation.GELU),
                simd.linear(x3, simd.prepareLinear(w, null, WeightLayout.OUT_IN), Activation.GELU), 1e-5, 1e-5, "linear+GELU [2, 6, 23]");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void addLayerNormMatchesAddThenLayerNorm(SimdBackend simd) {
        Random rnd = new Random(12);
        for (int[] shape : new int[][] {{1, 1}, {3, 7}, {2, 5, 33}, {200, 384}, {4, 1000}}) {
            int c = shape[shape.length - 1];
            Tensor x = random(rnd, 3f, shape), r = random(rnd, 3f, shape), g = random(rnd, 1f, c), b = random(rnd, 1f, c);
            Tensor expected = REFERENCE.layerNorm(REFERENCE.add(x, r), g, b, 1e-12f);
            assertClose(expected, simd.addLayerNorm(x, r, g, b, 1e-12f), 1e-5, 1e-4, simd.describe() + " addLayerNorm " + java.util.Arrays.toString(shape));
        }
        Tensor x = random(rnd, 1f, 4, 10), view = random(rnd, 1f, 10, 4).transpose(0, 1), g = random(rnd, 1f, 10), b = random(rnd, 1f, 10);
        assertClose(REFERENCE.layerNorm(REFERENCE.add(x, view), g, b, 1e-5f), simd.addLayerNorm(x, view, g, b, 1e-5f), 1e-5, 1e-4,
                "addLayerNorm with a transposed residual");
        assertThrows(ShapeException.class, () -> simd.addLayerNorm(x, random(rnd, 1f, 10), g, b, 1e-5f));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void recycledOutputsAreReusedAndFullyOverwritten(SimdBackend simd) {
        Random rnd = new Random(14);
        int rows = 37, c = 48, heads = 4;
        Tensor x = random(rnd, 1f, 1, rows, c), r = random(rnd, 1f, 1, rows, c), g = random(rnd, 1f, c), b = random(rnd, 1f, c);
        Tensor w = random(rnd, 1f, c, c), bias = random(rnd, 1f, c);
        LinearWeight ref = REFERENCE.prepareLinear(w, bias, WeightLayout.OUT_IN), packed = simd.prepareLinear(w, bias, WeightLayout.OUT_IN);
        Tensor q = random(rnd, 1f, 1, rows, c), k = random(rnd, 1f, 1, rows, c), v = random(rnd, 1f, 1, rows, c);
        float scale = 0.25f;
        List<java.util.function.Supplier<Tensor>> ops = List.of(
                () -> simd.linear(x, packed),
                () -> simd.linear(x, packed, Activation.GELU),
                () -> simd.add(x, r),
                () -> simd.activation(x, Activation.TANH),
                () -> simd.layerNorm(x, g, b, 1e-5f),
                () -> simd.addLayerNorm(x, r, g, b, 1e-5f),
                () -> simd.softmax(x),
                () -> simd.attention(q, k, v, heads, AttentionMask.causal(null), scale, false).context(),
                () -> simd.attention(q.narrow(1, 0, 1), k, v, heads, AttentionMask.NONE, scale, false).context());
        List<Tensor> expected = List.of(
                REFERENCE.linear(x, ref),
                REFERENCE.activation(REFERENCE.linear(x, ref), Activation.GELU),
                REFERENCE.add(x, r),
                REFERENCE.activation(x, Activation.TANH),
                REFERENCE.layerNorm(x, g, b, 1e-5f),
                REFERENCE.layerNorm(REFERENCE.add(x, r), g, b, 1e-5f),
                REFERENCE.softmax(x),
                REFERENCE.attention(q, k, v, heads, AttentionMask.causal(null), scale, false).context(),
                REFERENCE.attention(q.narrow(1, 0, 1), k, v, heads, AttentionMask.NONE, scale, false).context());
        for (int i = 0; i < ops.size(); i++) {
            Tensor first = ops.get(i).get();
            float[] array = first.floatArray();
            java.util.Arrays.fill(array, Float.NaN);   // garbage that a reusing op must overwrite entirely
            simd.recycle(first);
            Tensor second = ops.get(i).get();
            assertSame(array, second.floatArray(), "op " + i + " reuses the recycled array");
            assertClose(expected.get(i), second, 1e-5, 1e-4, simd.describe() + " op " + i + " on a recycled array");
        }
        Tensor y = simd.linear(x, packed);
        simd.recycle(y.narrow(1, 1, 3));   // a view: not taken
        assertNotSame(y.floatArray(), simd.linear(x, packed).floatArray());
    }

    /** The Trainer's batches change length: an output takes a longer recycled array (up to about twice) as a view of its start. */
    @ParameterizedTest
    @MethodSource("backends")
    void anOutputOfAnotherLengthReusesALongerRecycledArray(SimdBackend shared) {
        try (SimdBackend simd = new SimdBackend(shared.threads(), shared.vectorBits())) {   // an empty pool
            Random rnd = new Random(15);
            int c = 64;
            Tensor w = random(rnd, 1f, c, c), bias = random(rnd, 1f, c), g = random(rnd, 1f, c), b = random(rnd, 1f, c);
            LinearWeight ref = REFERENCE.prepareLinear(w, bias, WeightLayout.OUT_IN);
            LinearWeight packed = simd.prepareLinear(w, bias, WeightLayout.OUT_IN);
            Tensor big = simd.linear(random(rnd, 1f, 2, 100, c), packed);   // 12,800 floats
            float[] array = big.floatArray();
            Arrays.fill(array, Float.NaN);   // garbage that the shorter output must not show
            simd.recycle(big);

            Tensor x = random(rnd, 1f, 2, 77, c);   // 9,856 floats
            Tensor y = simd.linear(x, packed);
            assertSame(array, y.floatArray(), "the shorter output takes the longer array");
            assertEquals(2L * 77 * c * Float.BYTES, y.segment().byteSize(), "its segment is as long as the tensor");
            assertClose(REFERENCE.linear(x, ref), y, 1e-5, 1e-5, "linear into a longer recycled array");
            assertClose(REFERENCE.layerNorm(REFERENCE.linear(x, ref), g, b, 1e-5f), simd.layerNorm(y, g, b, 1e-5f), 1e-5, 1e-4,
                    "an op reading that output");

            simd.recycle(y.narrow(1, 0, 10));   // a view of its first rows is not all of it: not taken
            assertNotSame(array, simd.zeros(2, 77, c).floatArray());
            simd.recycle(y.reshape(-1, c));     // all of it, reshaped: taken
            Tensor z = simd.zeros(2, 60, c);    // 7,680 floats, zeroed
            assertSame(array, z.floatArray());
            assertArrayEquals(new float[2 * 60 * c], z.toFloatArray());
            simd.recycle(z);
            assertNotSame(array, simd.zeros(2, 40, c).floatArray(), "an array over about twice as long is not taken");
            assertSame(array, simd.zeros(2, 100, c).floatArray(), "but serves its own length again");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void linearTakesLeadingDimensionsAndStridedViews(SimdBackend simd) {
        Random rnd = new Random(2);
        Tensor w = random(rnd, 1f, 19, 23), b = random(rnd, 1f, 19);
        LinearWeight ref = REFERENCE.prepareLinear(w, b, WeightLayout.OUT_IN);
        LinearWeight packed = simd.prepareLinear(w, b, WeightLayout.OUT_IN);
        Tensor x3 = random(rnd, 1f, 2, 6, 23);
        assertClose(REFERENCE.linear(x3, ref), simd.linear(x3, packed), 1e-5, 1e-5, "linear [2, 6, 23]");
        Tensor view = random(rnd, 1f, 23, 11).transpose(0, 1);   // [11, 23], not contiguous
        assertClose(REFERENCE.linear(view, ref), simd.linear(view, packed), 1e-5, 1e-5, "linear on a transposed view");
        Tensor narrow = random(rnd, 1f, 5, 40).narrow(1, 3, 23);   // rows with stride 40
        assertClose(REFERENCE.linear(narrow, ref), simd.linear(narrow, packed), 1e-5, 1e-5, "linear on a narrowed view");
    }

    // ---------------------------------------------------------------- matmul

    @ParameterizedTest
    @MethodSource("backends")
    void matmulMatchesReferenceIncludingTransposedViews(SimdBackend simd) {
        Random rnd = new Random(3);
        int[][] shapes = {{1, 1, 1, 1}, {1, 3, 5, 7}, {6, 17, 64, 33}, {2, 70, 9, 130}, {3, 1, 100, 1}};
        for (int[] s : shapes) {
            int batch = s[0], m = s[1], k = s[2], n = s[3];
            Tensor a = random(rnd, 1f, batch, m, k);
            Tensor b = random(rnd, 1f, batch, k, n);
            assertClose(REFERENCE.matmul(a, b), simd.matmul(a, b), 1e-5, 1e-5, "matmul " + batch + "×" + m + "×" + k + "×" + n);
            Tensor bT = random(rnd, 1f, batch, n, k).transpose(1, 2);   // [batch, k, n] view of [batch, n, k]
            assertClose(REFERENCE.matmul(a, bT), simd.matmul(a, bT), 1e-5, 1e-5, "matmul with transposed b");
            Tensor b2 = random(rnd, 1f, k, n);   // b without batch dimensions: shared by every batch
            assertClose(REFERENCE.matmul(a, b2), simd.matmul(a, b2), 1e-5, 1e-5, "matmul with a 2-d b");
        }
        // 4-d, as attention would: q [B, h, T, d] · kᵀ [B, h, d, T]
        Tensor q = random(rnd, 1f, 2, 3, 5, 8), k = random(rnd, 1f, 2, 3, 7, 8);
        Tensor kT = k.transpose(2, 3);
        assertClose(REFERENCE.matmul(q, kT), simd.matmul(q, kT), 1e-5, 1e-5, "4-d matmul with kᵀ view");
    }

    // ---------------------------------------------------------------- element-wise and row-wise

    @ParameterizedTest
    @MethodSource("backends")
    void addBroadcastsLikeReference(SimdBackend simd) {
        Random rnd = new Random(4);
        int[][][] cases = {
            {{1}, {1}}, {{7, 37}, {37}}, {{7, 37}, {7, 37}}, {{2, 5000, 3}, {3}}, {{2, 3, 4100}, {3, 4100}},
            {{40001}, {40001}}, {{64, 768}, {768}}, {{3, 0}, {0}}};
        for (int[][] c : cases) {
            Tensor a = random(rnd, 1f, c[0]), b = random(rnd, 1f, c[1]);
            assertClose(REFERENCE.add(a, b), simd.add(a, b), 0, 0, "add");
        }
        Tensor view = random(rnd, 1f, 9, 4).transpose(0, 1);
        Tensor b = random(rnd, 1f, 9);
        assertClose(REFERENCE.add(view, b), simd.add(view, b), 0, 0, "add on a transposed view");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void layerNormMatchesReference(SimdBackend simd) {
        Random rnd = new Random(5);
        int[][] shapes = {{1, 1}, {3, 7}, {2, 5, 33}, {5, 768}, {64, 1000}, {130, 17}};
        for (int[] s : shapes) {
            int c = s[s.length - 1];
            Tensor x = random(rnd, 3f, s);
            Tensor g = random(rnd, 1f, c), b = random(rnd, 1f, c);
            assertClose(REFERENCE.layerNorm(x, g, b, 1e-5f), simd.layerNorm(x, g, b, 1e-5f), 1e-5, 1e-5, "layerNorm");
            Tensor shifted = simd.add(x, Tensor.full(1000f, c));   // a large mean: the two-pass variance keeps it exact
            assertClose(REFERENCE.layerNorm(shifted, g, b, 1e-12f), simd.layerNorm(shifted, g, b, 1e-12f), 2e-3, 2e-3,
                    "layerNorm of values near 1000");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void softmaxMatchesReferenceIncludingMaskedRows(SimdBackend simd) {
        Random rnd = new Random(6);
        int[][] shapes = {{1}, {3, 17}, {2, 3, 100}, {12, 128, 128}, {4, 1000}};
        for (int[] s : shapes) {
            Tensor x = random(rnd, 10f, s);
            assertClose(REFERENCE.softmax(x), simd.softmax(x), 1e-7, 1e-5, "softmax");
        }
        float inf = Float.NEGATIVE_INFINITY, min = -Float.MAX_VALUE;
        Tensor special = Tensor.of(new float[] {
            inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf,
            min, min, min, min, min, min, min, min, min, min, min, min, min, min, min, min, min, min, min,
            1, 2, inf, min, 3, 0, inf, inf, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 3, 19);
        assertClose(REFERENCE.softmax(special), simd.softmax(special), 1e-7, 1e-5, "softmax of −∞ and float32.min rows");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void activationsMatchReference(SimdBackend simd) {
        Random rnd = new Random(7);
        for (Activation act : Activation.values()) {
            for (int n : new int[] {1, 15, 1003, 70001}) {
                Tensor x = random(rnd, 8f, n);
                assertClose(REFERENCE.activation(x, act), simd.activation(x, act), 2e-6, 2e-6, act + " of " + n + " values");
            }
            Tensor edges = Tensor.of(new float[] {0f, -0f, 1e-30f, -1e-30f, 1e-5f, -1e-5f, 0.5f, -0.5f, 3f, -3f,
                12f, -12f, 30f, -30f, 90f, -90f, 1e4f, -1e4f}, 18);
            assertClose(REFERENCE.activation(edges, act), simd.activation(edges, act), 2e-6, 2e-6, act + " at edge values");
        }
    }

    // ---------------------------------------------------------------- attention

    record AttentionCase(int batch, int tq, int tk, int heads, int d, boolean causal, boolean padding) {
    }

    static final AttentionCase[] ATTENTION_CASES = {
        new AttentionCase(1, 1, 1, 1, 1, false, false),
        new AttentionCase(2, 7, 7, 3, 5, false, true),
        new AttentionCase(2, 9, 9, 2, 16, true, false),
        new AttentionCase(3, 6, 6, 4, 8, true, true),
        new AttentionCase(1, 33, 33, 12, 64, false, true),
        new AttentionCase(2, 17, 17, 2, 19, true, true),
        new AttentionCase(2, 21, 21, 2, 32, true, true)};   // a 32-wide head: the context's 4 × 2 tiles at 512 bits

    @ParameterizedTest
    @MethodSource("backends")
    void attentionOnViewsOfFusedQkvMatchesReference(SimdBackend simd) {
        Random rnd = new Random(8);
        for (AttentionCase c : ATTENTION_CASES) {
            int channels = c.heads() * c.d();
            Tensor qkv = random(rnd, 2f, c.batch(), c.tq(), 3 * channels);   // as a fused QKV projection writes it
            Tensor q = qkv.narrow(2, 0, channels), k = qkv.narrow(2, channels, channels), v = qkv.narrow(2, 2 * channels, channels);
            Tensor pad = c.padding() ? paddingMask(rnd, c.batch(), c.tk()) : null;
            AttentionMask mask = new AttentionMask(pad, c.causal());
            compareAttention(simd, q, k, v, c.heads(), mask, c.toString());
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void attentionOverAKvCacheWithFewerQueriesThanKeys(SimdBackend simd) {
        Random rnd = new Random(9);
        int batch = 2, heads = 3, d = 7, channels = heads * d, capacity = 40;
        Tensor kCache = random(rnd, 2f, batch, capacity, channels), vCache = random(rnd, 2f, batch, capacity, channels);
        for (int[] qk : new int[][] {{1, 1}, {1, 13}, {4, 13}, {3, 40}}) {
            int tq = qk[0], tk = qk[1];
            Tensor q = random(rnd, 2f, batch, tq, channels);
            Tensor k = kCache.narrow(1, 0, tk), v = vCache.narrow(1, 0, tk);   // rows with stride capacity·channels per batch
            Tensor pad = paddingMask(rnd, batch, tk);
            compareAttention(simd, q, k, v, heads, AttentionMask.causal(pad), "cache tq=" + tq + " tk=" + tk + " causal+pad");
            compareAttention(simd, q, k, v, heads, AttentionMask.causal(null), "cache tq=" + tq + " tk=" + tk + " causal");
            compareAttention(simd, q, k, v, heads, AttentionMask.NONE, "cache tq=" + tq + " tk=" + tk);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void decodingAttentionLargeEnoughToSplitBetweenThreads(SimdBackend simd) {
        Random rnd = new Random(13);
        int batch = 2, heads = 12, d = 24, channels = heads * d, capacity = 120;   // ≥ 32K multiply-adds per call
        Tensor kCache = random(rnd, 1f, batch, capacity, channels), vCache = random(rnd, 1f, batch, capacity, channels);
        for (int[] qk : new int[][] {{1, 100}, {2, 101}, {3, 120}}) {
            int tq = qk[0], tk = qk[1];
            Tensor q = random(rnd, 1f, batch, tq, channels);
            Tensor k = kCache.narrow(1, 0, tk), v = vCache.narrow(1, 0, tk);
            compareAttention(simd, q, k, v, heads, AttentionMask.causal(paddingMask(rnd, batch, tk)),
                    "decoding tq=" + tq + " tk=" + tk + " causal+pad");
            compareAttention(simd, q, k, v, heads, AttentionMask.NONE, "decoding tq=" + tq + " tk=" + tk);
        }
    }

    /**
     * Decoding's attention is split between the threads by runs of cached positions, each chunk of positions summed
     * into a partial row of its own; the chunks depend on the number of keys alone, so 2 threads give 1 thread's bits
     * (context and probabilities), with padding, a batch, one and two query rows.
     */
    @Test
    void decodingAttentionOnTwoThreadsGivesOneThreadsBits() {
        Random rnd = new Random(14);
        int heads = 12, d = 64, channels = heads * d, capacity = 160;
        try (SimdBackend one = new SimdBackend(1, 0); SimdBackend two = new SimdBackend(2, 0)) {
            for (int batch : new int[] {1, 3}) {
                Tensor kCache = random(rnd, 1f, batch, capacity, channels), vCache = random(rnd, 1f, batch, capacity, channels);
                for (int[] qk : new int[][] {{1, 50}, {1, 96}, {2, 101}, {1, 160}}) {
                    int tq = qk[0], tk = qk[1];
                    Tensor q = random(rnd, 1f, batch, tq, channels);
                    Tensor k = kCache.narrow(1, 0, tk), v = vCache.narrow(1, 0, tk);
                    for (AttentionMask mask : List.of(AttentionMask.causal(paddingMask(rnd, batch, tk)), AttentionMask.causal(null),
                            AttentionMask.padding(paddingMask(rnd, batch, tk)))) {   // padding alone: a sentence head's first token
                        AttentionOutput a = one.attention(q, k, v, heads, mask, 0.125f, true);
                        AttentionOutput b = two.attention(q, k, v, heads, mask, 0.125f, true);
                        String what = "batch " + batch + " tq=" + tq + " tk=" + tk;
                        assertTrue(Arrays.equals(a.context().toFloatArray(), b.context().toFloatArray()), what + ": context");
                        assertTrue(Arrays.equals(a.probs().toFloatArray(), b.probs().toFloatArray()), what + ": probabilities");
                    }
                }
            }
        }
    }

    @Test
    void oneQueryOverNoKeysGivesZeros() {   // torch: an empty softmax times an empty V
        Random rnd = new Random(15);
        int heads = 2, channels = 8;
        try (SimdBackend simd = new SimdBackend(2, 0)) {
            simd.recycle(Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 1, 1, channels));   // a dirty array to be handed out
            Tensor q = random(rnd, 1f, 1, 1, channels), kv = Tensor.zeros(DType.F32, 1, 0, channels);
            for (AttentionMask mask : List.of(AttentionMask.causal(null), AttentionMask.NONE)) {
                assertArrayEquals(new float[channels], simd.attention(q, kv, kv, heads, mask, 0.5f, false).context().toFloatArray());
            }
        }
    }

    @Test
    void gatherRowsAndItsBackwardMatchTheReference() {
        Random rnd = new Random(16);
        Tensor x = random(rnd, 1f, 7, 10);
        long[] rows = {3, 0, 6, 3};   // a repeated row: its gradients add up
        Tensor dy = random(rnd, 1f, rows.length, 10);
        try (SimdBackend simd = new SimdBackend(2, 0); Backend scalar = dev.jformers.core.Backends.create("scalar")) {
            assertArrayEquals(scalar.gatherRows(x, rows).toFloatArray(), simd.gatherRows(x, rows).toFloatArray());
            Tensor strided = random(rnd, 1f, 7, 16).narrow(1, 3, 10);   // rows 16 floats apart, from offset 3
            assertArrayEquals(scalar.gatherRows(strided, rows).toFloatArray(), simd.gatherRows(strided, rows).toFloatArray());
            assertArrayEquals(scalar.gatherRowsBackward(dy, rows, 7).toFloatArray(),
                    simd.gatherRowsBackward(dy, rows, 7).toFloatArray(), 1e-6f);
            assertThrows(ShapeException.class, () -> simd.gatherRows(x, new long[] {7}));
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void attentionWithFullyPaddedRowsMatchesReference(SimdBackend simd) {
        Random rnd = new Random(10);
        int batch = 2, t = 5, heads = 2, d = 4;
        Tensor q = random(rnd, 1f, batch, t, heads * d), k = random(rnd, 1f, batch, t, heads * d), v = random(rnd, 1f, batch, t, heads * d);
        Tensor pad = Tensor.of(new float[] {0, 0, 0, 0, 0, 1, 1, 0, 0, 1}, batch, t);   // batch 0: every key padded
        compareAttention(simd, q, k, v, heads, AttentionMask.padding(pad), "all keys padded");
        compareAttention(simd, q, k, v, heads, AttentionMask.causal(pad), "all keys padded, causal");   // some rows all −∞
        Tensor longPad = Tensor.ofLongs(new long[] {1, 1, 0, 0, 0, 0, 1, 1, 1, 1}, batch, t);     // an integer mask
        compareAttention(simd, q, k, v, heads, AttentionMask.causal(longPad), "left padding, I64 mask");
    }

    /** A batch of sentences of different lengths, right-padded: the keys past each one's end are skipped. */
    @ParameterizedTest
    @MethodSource("backends")
    void attentionWithRightPaddingMatchesReference(SimdBackend simd) {
        Random rnd = new Random(11);
        int batch = 4, t = 37, heads = 3, d = 16, channels = heads * d;
        int[] lengths = {37, 20, 1, 5};
        float[] m = new float[batch * t];
        for (int b = 0; b < batch; b++) {
            Arrays.fill(m, b * t, b * t + lengths[b], 1f);
        }
        m[3 * t + 2] = 0f;   // and a hole before the end
        Tensor pad = Tensor.of(m, batch, t);
        Tensor qkv = random(rnd, 2f, batch, t, 3 * channels);
        Tensor q = qkv.narrow(2, 0, channels), k = qkv.narrow(2, channels, channels), v = qkv.narrow(2, 2 * channels, channels);
        compareAttention(simd, q, k, v, heads, AttentionMask.padding(pad), "right padding");
        compareAttention(simd, q, k, v, heads, AttentionMask.causal(pad), "right padding, causal");
        for (int tq : new int[] {1, 2}) {   // decoding: the last tq positions query every key
            Tensor last = q.narrow(1, t - tq, tq);
            compareAttention(simd, last, k, v, heads, AttentionMask.padding(pad), "right padding, tq=" + tq);
            compareAttention(simd, last, k, v, heads, AttentionMask.causal(pad), "right padding, causal, tq=" + tq);
        }
    }

    /**
     * Encoder attention in blocks of two vectors of query rows, one row per lane ({@link Kernels#attentionBlock}),
     * gives the bits of the blocks of 4 rows with a softmax per row, at every width, and the same bits on 1 and 2
     * threads: query counts that leave a partial block or a partial second vector, fewer queries than keys (a cache),
     * key counts past the last whole vector and past the scores' tiles of 8 and 16, odd head widths and heads two
     * vectors wide at each width (P·V's 8 × 2 tile), padding (right, with holes, every key of a row), and scores
     * large enough that a padded key's score + MASKED overflows to −∞ (every second query: lanes whose maximum is
     * −∞ beside lanes that stay finite in one vector).
     */
    @Test
    void attentionInLanesGivesTheBitsOfRowBlocks() {
        int[][] shapes = {{1, 4, 4, 1, 3}, {2, 16, 16, 12, 32}, {1, 17, 17, 2, 32}, {3, 37, 37, 3, 7}, {2, 128, 128, 2, 32},
            {1, 9, 9, 4, 64}, {2, 40, 40, 2, 19}, {1, 20, 5, 2, 8}, {2, 33, 70, 2, 16}, {3, 6, 70, 1, 16},
            {3, 50, 50, 2, 8}, {1, 48, 40, 2, 64}, {2, 64, 23, 1, 35}};   // {batch, tq, tk, heads, d}
        // (tq 48 and 64: whole half-blocks of 16 rows at 512 bits, whose Qᵀ is transposed in registers 16 columns at a
        // time, with d = 35 a 3-column tail; a block of 16 rows, its second half empty)
        Map<String, float[]> oneThread = new HashMap<>();
        for (int bits : new int[] {512, 256, 128}) {
            for (int threads : new int[] {1, 2}) {
                try (SimdBackend lanes = new SimdBackend(threads, bits); SimdBackend rows = new SimdBackend(threads, bits)) {
                    rows.attentionInLanes = false;
                    for (int s = 0; s < shapes.length; s++) {
                        int[] sh = shapes[s];
                        Random rnd = new Random(31 + s);   // the same inputs on 1 and 2 threads
                        int batch = sh[0], tq = sh[1], tk = sh[2], heads = sh[3], channels = heads * sh[4];
                        float scale = (float) (1 / Math.sqrt(sh[4]));
                        Tensor qkv = random(rnd, 2f, batch, Math.max(tq, tk), 3 * channels);
                        Tensor q = qkv.narrow(2, 0, channels).narrow(1, 0, tq);
                        Tensor k = qkv.narrow(2, channels, channels).narrow(1, 0, tk);
                        Tensor v = qkv.narrow(2, 2 * channels, channels).narrow(1, 0, tk);
                        float[] m = paddingMask(rnd, batch, tk).toFloatArray();
                        for (int b = 0; b < batch; b++) {   // row 1 right-padded, row 2 padded everywhere
                            for (int j = 0; j < tk; j++) {
                                m[b * tk + j] = b == 1 && j >= (tk + 1) / 2 ? 0f : b == 2 ? 0f : m[b * tk + j];
                            }
                        }
                        String shape = bits + " bits, " + Arrays.toString(sh), what = shape + ", " + threads + " threads";
                        List<AttentionMask> masks = List.of(AttentionMask.NONE, AttentionMask.padding(Tensor.of(m, batch, tk)));
                        for (int i = 0; i < masks.size(); i++) {
                            float[] inLanes = lanes.attention(q, k, v, heads, masks.get(i), scale, false).context().toFloatArray();
                            assertTrue(Arrays.equals(rows.attention(q, k, v, heads, masks.get(i), scale, false).context()
                                    .toFloatArray(), inLanes), what + ", mask " + i);
                            float[] first = oneThread.putIfAbsent(shape + ", mask " + i, inLanes);
                            assertTrue(first == null || Arrays.equals(first, inLanes), what + ", mask " + i + " against 1 thread");
                        }
                        float[] bq = random(rnd, 1f, batch, tq, channels).toFloatArray();
                        for (int i = 0; i < bq.length; i++) {   // scores of −1e31 and below: + MASKED overflows to −∞
                            if (i / channels % 2 == 0) {        // every second query row; the others stay finite
                                bq[i] = -4e31f * Math.abs(bq[i]) - 1e31f;
                            }
                        }
                        float[] kp = k.toFloatArray();
                        for (int i = 0; i < kp.length; i++) {
                            kp[i] = Math.abs(kp[i]) + 0.5f;
                        }
                        Tensor bigQ = Tensor.of(bq, batch, tq, channels), posK = Tensor.of(kp, batch, tk, channels);
                        AttentionMask pad = AttentionMask.padding(Tensor.of(m, batch, tk));
                        // row 2 (every key padded): the huge queries' maximum is −∞, their probabilities all 0
                        assertTrue(Arrays.equals(rows.attention(bigQ, posK, v, heads, pad, scale, false).context().toFloatArray(),
                                lanes.attention(bigQ, posK, v, heads, pad, scale, false).context().toFloatArray()), what + ", huge scores");
                    }
                }
            }
        }
    }

    /**
     * The probabilities themselves, lanes against row blocks, down to subnormal ones and past exp's clamp: V = I makes
     * the context P exactly (each output is one FMA of p by 1 among zeros), and query r's scores are −(1 + r/32)·2.3·j
     * for key j, from 0 to −321 (softmaxInLanes applies 2^n as 2^(n + 64)·2^−64, expReduced as two halves).
     */
    @Test
    void attentionInLanesGivesTheRowsProbabilitiesDownToSubnormalOnes() {
        int tq = 64, keys = 48, d = keys;
        float[] q = new float[tq * d], k = new float[keys * d], v = new float[keys * d];
        for (int r = 0; r < tq; r++) {
            q[r * d] = 1f + r / 32f;
        }
        for (int j = 0; j < keys; j++) {
            k[j * d] = -2.3f * j;
            v[j * d + j] = 1f;
        }
        Tensor tQ = Tensor.of(q, 1, tq, d), tK = Tensor.of(k, 1, keys, d), tV = Tensor.of(v, 1, keys, d);
        for (int bits : new int[] {512, 256, 128}) {
            try (SimdBackend lanes = new SimdBackend(1, bits); SimdBackend rows = new SimdBackend(1, bits)) {
                rows.attentionInLanes = false;
                float[] p = lanes.attention(tQ, tK, tV, 1, AttentionMask.NONE, 1f, false).context().toFloatArray();
                float[] expected = rows.attention(tQ, tK, tV, 1, AttentionMask.NONE, 1f, false).context().toFloatArray();
                int subnormal = 0;
                for (float x : p) {
                    subnormal += x > 0f && x < Float.MIN_NORMAL ? 1 : 0;
                }
                assertTrue(subnormal > 100, subnormal + " subnormal probabilities");
                for (int i = 0; i < p.length; i++) {
                    assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(p[i]), bits + " bits, at " + i);
                }
            }
        }
    }

    private static Tensor paddingMask(Random rnd, int batch, int keys) {
        float[] m = new float[batch * keys];
        for (int i = 0; i < m.length; i++) {
            m[i] = rnd.nextInt(4) == 0 ? 0f : 1f;
        }
        m[0] = 1f;
        return Tensor.of(m, batch, keys);
    }

    private static void compareAttention(Backend simd, Tensor q, Tensor k, Tensor v, int heads, AttentionMask mask, String what) {
        float scale = (float) (1 / Math.sqrt(q.dim(2) / heads));
        AttentionOutput expected = REFERENCE.attention(q, k, v, heads, mask, scale, true);
        AttentionOutput withProbs = simd.attention(q, k, v, heads, mask, scale, true);
        AttentionOutput withoutProbs = simd.attention(q, k, v, heads, mask, scale, false);
        assertClose(expected.context(), withProbs.context(), 1e-5, 1e-4, simd.describe() + " attention context " + what);
        assertClose(expected.probs(), withProbs.probs(), 1e-6, 1e-4, simd.describe() + " attention probs " + what);
        assertClose(expected.context(), withoutProbs.context(), 1e-5, 1e-4, simd.describe() + " attention context (no probs) " + what);
        assertNull(withoutProbs.probs());
    }

    // ---------------------------------------------------------------- configuration

    @Test
    void widthsAndThreadsAreWhatTheConstructorSays() {
        for (SimdBackend b : BACKENDS) {
            assertEquals("cpu", b.name());
            assertTrue(b.describe().contains(b.threads() == 1 ? "1 thread" : b.threads() + " threads"), b.describe());
        }
        assertEquals(512, BACKENDS.get(0).vectorBits());
        assertEquals(SimdBackend.SCALAR_BITS, BACKENDS.get(BACKENDS.size() - 1).vectorBits());
    }
}
