package dev.jformers.loaders;

import dev.jformers.core.DType;
import dev.jformers.core.Tensor;
import dev.jformers.loaders.TensorBundleWriter.Proto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A hand-built ONNX model with the layout PyTorch's exporter produces for BERT. */
class OnnxWeightsTest {
    @TempDir
    Path tmp;

    static byte[] f32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    static Proto tensor(String name, int type, long[] dims) {
        Proto t = new Proto();
        Proto packedDims = new Proto();
        for (long d : dims) {
            packedDims.rawVarint(d);
        }
        t.bytes(1, packedDims.bytes());
        t.varint(2, type);
        t.string(8, name);
        return t;
    }

    static Proto node(String name, String op, List<String> in, List<String> out) {
        Proto n = new Proto();
        in.forEach(i -> n.string(1, i));
        out.forEach(o -> n.string(2, o));
        n.string(3, name);
        n.string(4, op);
        return n;
    }

    /** A small BERT-like graph: named embeddings, anonymous MatMul weights, typed-field tensors. */
    static byte[] model(boolean externalData) {
        Proto g = new Proto();
        g.message(1, node("/encoder/layer.0/attention/self/query/MatMul", "MatMul", List.of("x", "onnx::MatMul_1"), List.of("q_mm")));
        g.message(1, node("/encoder/layer.0/attention/self/query/Add", "Add", List.of("encoder.layer.0.attention.self.query.bias", "q_mm"), List.of("q")));
        g.message(1, node("/pooler/dense/MatMul", "MatMul", List.of("cls", "onnx::MatMul_2"), List.of("p_mm")));
        g.string(2, "main_graph");
        float[] emb = new float[20];
        for (int i = 0; i < emb.length; i++) {
            emb[i] = i * 0.5f;
        }
        g.message(5, tensor("embeddings.word_embeddings.weight", 1, new long[] {5, 4}).bytes(9, f32(emb)));
        // [in=4, out=3]: row-major 0..11
        g.message(5, tensor("onnx::MatMul_1", 1, new long[] {4, 3}).bytes(9, f32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)));
        g.message(5, tensor("encoder.layer.0.attention.self.query.bias", 1, new long[] {3}).bytes(4, f32(0.1f, 0.2f, 0.3f)));
        Proto p2 = tensor("onnx::MatMul_2", 1, new long[] {2, 2});
        for (float f : new float[] {1, 2, 3, 4}) {
            p2.fixed32(4, Float.floatToRawIntBits(f)); // unpacked float_data
        }
        g.message(5, p2);
        Proto ids = tensor("embeddings.position_ids", 7, new long[] {1, 4});
        ids.bytes(7, new Proto().rawVarint(0).rawVarint(1).rawVarint(2).rawVarint(3).bytes());
        g.message(5, ids);
        Proto half = tensor("half", 10, new long[] {2});
        half.bytes(5, new Proto().rawVarint(Float.floatToFloat16(1.5f) & 0xFFFF).rawVarint(Float.floatToFloat16(-2f) & 0xFFFF).bytes());
        g.message(5, half);
        g.message(5, tensor("names", 8, new long[] {1}).bytes(6, "hello".getBytes()));
        if (externalData) {
            g.message(5, tensor("big", 1, new long[] {1000}).varint(14, 1));
        }
        Proto m = new Proto().varint(1, 8).string(2, "pytorch").string(3, "2.0.1");
        m.message(8, new Proto().varint(2, 14));
        m.message(7, g);
        return m.bytes();
    }

    @Test
    void recoversHfNamesAndTransposes() throws IOException {
        Path file = tmp.resolve("model.onnx");
        Files.write(file, model(false));
        try (WeightSource s = Checkpoints.open(tmp)) {
            assertEquals("onnx", s.format());
            assertEquals(List.of("embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight",
                    "encoder.layer.0.attention.self.query.bias", "pooler.dense.weight", "embeddings.position_ids", "half"), List.copyOf(s.names()));
            Tensor q = s.get("encoder.layer.0.attention.self.query.weight");
            assertArrayEquals(new int[] {3, 4}, q.shape());
            assertArrayEquals(new float[] {0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11}, q.toFloatArray());
            assertArrayEquals(new int[] {3, 4}, s.info("encoder.layer.0.attention.self.query.weight").shape());
            assertArrayEquals(new float[] {0.1f, 0.2f, 0.3f}, s.get("encoder.layer.0.attention.self.query.bias").toFloatArray());
            assertArrayEquals(new float[] {1, 3, 2, 4}, s.get("pooler.dense.weight").toFloatArray());
            assertArrayEquals(new long[] {0, 1, 2, 3}, s.get("embeddings.position_ids").toLongArray());
            assertEquals(DType.F16, s.get("half").dtype());
            assertArrayEquals(new float[] {1.5f, -2f}, s.get("half").toFloatArray());
            assertEquals(9.5f, s.get("embeddings.word_embeddings.weight").getFloat(4, 3));
            assertEquals("names", s.metadata().get("skipped"));
            assertEquals("pytorch", s.metadata().get("producer_name"));
            assertFalse(s.contains("onnx::MatMul_1"));
        }
    }

    @Test
    void externalDataIsRefused() throws IOException {
        Path file = tmp.resolve("ext.onnx");
        Files.write(file, model(true));
        LoaderException e = assertThrows(LoaderException.class, () -> OnnxWeights.open(file));
        assertTrue(e.getMessage().contains("'big'") && e.getMessage().contains("external data"), e.getMessage());
    }

    @Test
    void lyingRawDataLength() throws IOException {
        Path file = tmp.resolve("lie.onnx");
        Proto g = new Proto().message(5, tensor("w", 1, new long[] {1000, 1000}).bytes(9, f32(1, 2)));
        Files.write(file, new Proto().message(7, g).bytes());
        LoaderException e = assertThrows(LoaderException.class, () -> OnnxWeights.open(file));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("raw_data"), e.getMessage());
    }
}
