package dev.jformers.loaders;

import dev.jformers.core.DType;
import dev.jformers.core.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** testdata/formats: the golden weights in other layouts load to the same (or equally rounded) values. */
class FormatsTest {
    private static Path golden(String model) {
        return TestData.golden().resolve(model.equals("bert-masked_lm") ? "bert/masked_lm" : "gpt2/lm_head");
    }

    @ParameterizedTest
    @ValueSource(strings = {"bert-masked_lm", "gpt2-lm_head"})
    void legacyBinEqualsGolden(String model) {
        Path legacy = TestData.formats().resolve(model).resolve("legacy_bin/pytorch_model.bin");
        try (TorchCheckpoint l = TorchCheckpoint.open(legacy);
             WeightSource g = TorchCheckpoint.open(golden(model).resolve("pytorch_model.bin"))) {
            assertEquals("pytorch-legacy", l.format());
            assertEquals(g.names(), l.names());
            for (String n : g.names()) {
                TestData.assertSameTensor(n, g.get(n), l.get(n));
            }
            // Tied tensors share one storage in the legacy file too.
            assertTrue(!l.sharedStorages().isEmpty(), "tied weights share storage");
            for (var group : l.sharedStorages()) {
                long a = l.get(group.get(0)).storage().segment().address();
                for (String n : group) {
                    assertEquals(a, l.get(n).storage().segment().address(), n);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bert-masked_lm", "gpt2-lm_head"})
    void shardedBinEqualsGolden(String model) {
        try (WeightSource s = Checkpoints.open(TestData.formats().resolve(model).resolve("sharded_bin"));
             WeightSource g = TorchCheckpoint.open(golden(model).resolve("pytorch_model.bin"))) {
            assertInstanceOf(ShardedSource.class, s);
            assertEquals("sharded pytorch-zip", s.format());
            assertEquals(new java.util.HashSet<>(g.names()), new java.util.HashSet<>(s.names()));
            for (String n : g.names()) {
                TestData.assertSameTensor(n, g.get(n), s.get(n));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bert-masked_lm", "gpt2-lm_head"})
    void shardedSafetensorsEqualsGolden(String model) {
        try (WeightSource s = Checkpoints.open(TestData.formats().resolve(model).resolve("sharded_safetensors"));
             WeightSource g = SafetensorsFile.open(golden(model).resolve("model.safetensors"))) {
            assertEquals("sharded safetensors", s.format());
            assertEquals(new java.util.HashSet<>(g.names()), new java.util.HashSet<>(s.names()));
            for (String n : g.names()) {
                TestData.assertSameTensor(n, g.get(n), s.get(n));
            }
            for (WeightSource shard : ((ShardedSource) s).shards()) {
                assertEquals("pt", shard.metadata().get("format"));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bert-masked_lm/float16", "gpt2-lm_head/float16", "bert-masked_lm/bfloat16", "gpt2-lm_head/bfloat16"})
    void halfPrecisionEqualsRoundedGolden(String variant) {
        String model = variant.substring(0, variant.indexOf('/'));
        boolean bf16 = variant.endsWith("bfloat16");
        DType half = bf16 ? DType.BF16 : DType.F16;
        Path dir = TestData.formats().resolve(variant);
        try (WeightSource g = TorchCheckpoint.open(golden(model).resolve("pytorch_model.bin"));
             WeightSource st = SafetensorsFile.open(dir.resolve("model.safetensors"));
             WeightSource bin = TorchCheckpoint.open(dir.resolve("pytorch_model.bin"))) {
            int checked = 0;
            for (String n : bin.names()) {
                Tensor gt = g.get(n), b = bin.get(n);
                if (!gt.dtype().isFloatingPoint()) {
                    TestData.assertSameTensor(n, gt, b); // int64 position ids and bool masks keep their dtype
                    continue;
                }
                assertEquals(half, b.dtype(), n);
                float[] exact = gt.toFloatArray(), got = b.toFloatArray();
                for (int i = 0; i < exact.length; i++) {
                    float want = bf16 ? roundToBf16(exact[i]) : Float.float16ToFloat(Float.floatToFloat16(exact[i]));
                    if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(got[i])) {
                        throw new AssertionError(variant + " " + n + "[" + i + "]: " + exact[i] + " -> " + got[i] + ", expected " + want);
                    }
                }
                if (st.contains(n)) {
                    TestData.assertSameTensor(n, b, st.get(n));
                }
                checked++;
            }
            assertTrue(checked > 10);
        }
    }

    /** float32 → bfloat16 with round-to-nearest-even, as torch does. */
    static float roundToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(rounded & 0xFFFF0000);
    }
}
