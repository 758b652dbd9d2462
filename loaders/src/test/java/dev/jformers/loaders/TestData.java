package dev.jformers.loaders;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jformers.core.DType;
import dev.jformers.core.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Locates the repository's testdata/ and compares tensors. */
final class TestData {
    static final ObjectMapper JSON = new ObjectMapper();

    private TestData() {
    }

    static Path root() {
        String p = System.getProperty("jformers.testdata");
        Path root = p != null ? Path.of(p) : Path.of("../testdata");
        if (!Files.isDirectory(root)) {
            root = Path.of("../testdata");
        }
        return root;
    }

    static Path golden() {
        return root().resolve("golden");
    }

    static Path formats() {
        return root().resolve("formats");
    }

    /** Every golden model directory (golden/&lt;arch&gt;/&lt;head&gt;/ holding weights). */
    static List<Path> goldenModelDirs() {
        try (Stream<Path> s = Files.list(golden())) {
            return s.filter(Files::isDirectory).flatMap(arch -> {
                try (Stream<Path> h = Files.list(arch)) {
                    return h.filter(d -> Files.isRegularFile(d.resolve("model.safetensors"))
                            || Files.isRegularFile(d.resolve("pytorch_model.bin"))).sorted().toList().stream();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode json(Path p) {
        try {
            return JSON.readTree(p.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Same dtype, shape and elements (bitwise for floats, via their float value for F16/BF16). */
    static void assertSameTensor(String what, Tensor expected, Tensor actual) {
        assertEquals(expected.dtype(), actual.dtype(), what + ": dtype");
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        if (expected.dtype().isFloatingPoint()) {
            float[] e = expected.toFloatArray(), a = actual.toFloatArray();
            for (int i = 0; i < e.length; i++) {
                if (Float.floatToRawIntBits(e[i]) != Float.floatToRawIntBits(a[i])) {
                    throw new AssertionError(what + ": element " + i + " differs: " + e[i] + " vs " + a[i]);
                }
            }
        } else {
            assertArrayEquals(expected.toLongArray(), actual.toLongArray(), what + ": values");
        }
    }

    static int[] shape(JsonNode arr) {
        int[] s = new int[arr.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = arr.get(i).asInt();
        }
        return s;
    }

    static String str(int[] s) {
        return Arrays.toString(s);
    }

    static DType dtype(String torchName) {
        return DType.fromTorchName(torchName);
    }
}
