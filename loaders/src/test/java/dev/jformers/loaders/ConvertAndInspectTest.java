package dev.jformers.loaders;

import dev.jformers.core.DType;
import dev.jformers.core.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConvertAndInspectTest {
    @TempDir
    Path tmp;

    @Test
    void convertBinToSafetensorsRoundTrip() {
        Path src = TestData.golden().resolve("gpt2/lm_head/pytorch_model.bin");
        Path dst = tmp.resolve("model.safetensors");
        SafetensorsWriter.convert(src, dst);
        try (WeightSource a = Checkpoints.open(src); WeightSource b = Checkpoints.open(dst)) {
            assertEquals(a.names(), b.names());
            for (String n : a.names()) {
                TestData.assertSameTensor(n, a.get(n), b.get(n));
            }
            assertEquals("pt", b.metadata().get("format"));
        }
    }

    @Test
    void convertTfAndLegacyAndHalf() {
        for (Path src : new Path[] {TfCheckpointTest.resource("tf/bert-pretraining"),
                TestData.formats().resolve("bert-masked_lm/legacy_bin/pytorch_model.bin"),
                TestData.formats().resolve("gpt2-lm_head/bfloat16/pytorch_model.bin")}) {
            Path dst = tmp.resolve("out.safetensors");
            SafetensorsWriter.convert(src, dst);
            try (WeightSource a = Checkpoints.open(src); WeightSource b = SafetensorsFile.open(dst)) {
                assertEquals(a.names(), b.names(), src.toString());
                for (String n : a.names()) {
                    TestData.assertSameTensor(n, a.get(n).contiguous(), b.get(n));
                }
            }
        }
    }

    @Test
    void writerLayoutMatchesHuggingFace() throws IOException {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("a", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).transpose(0, 1)); // non-contiguous input
        t.put("ids", Tensor.ofLongs(new long[] {7, 8}, 2));
        t.put("empty", Tensor.zeros(DType.F32, 0, 3));
        Path p = tmp.resolve("w.safetensors");
        SafetensorsWriter.write(t, Map.of("format", "pt"), p);
        byte[] bytes = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8, "header padded to 8 bytes");
        String header = new String(bytes, 8, (int) n);
        assertTrue(header.startsWith("{\"__metadata__\":{\"format\":\"pt\"}"), header);
        assertEquals(8 + n + 6 * 4 + 2 * 8, bytes.length);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, f.get("a").toFloatArray());
            assertArrayEquals(new int[] {3, 2}, f.get("a").shape());
            assertArrayEquals(new long[] {7, 8}, f.get("ids").toLongArray());
            assertArrayEquals(new int[] {0, 3}, f.get("empty").shape());
        }
    }

    @Test
    void inspectTotals() {
        Inspect.Inspection i = Inspect.describe(TestData.golden().resolve("bert/masked_lm"));
        assertEquals("safetensors", i.format());
        long params = i.tensors().stream().mapToLong(TensorInfo::numel).sum();
        assertEquals(params, i.parameters());
        assertEquals(i.bytes(), i.byDType().values().stream().mapToLong(Long::longValue).sum());
        assertTrue(i.byDType().containsKey("F32") && i.byDType().containsKey("I64"));
        Inspect.Inspection tf = Inspect.describe(TfCheckpointTest.resource("tf/gpt2-base").resolve("model.ckpt"));
        assertEquals("tensorflow", tf.format());
        assertTrue(tf.tensors().stream().anyMatch(t -> t.name().equals("h.0.attn.c_attn.weight") && t.shape().length == 2));
    }
}
