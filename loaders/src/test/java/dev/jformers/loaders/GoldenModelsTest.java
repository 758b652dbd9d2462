package dev.jformers.loaders;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.core.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The golden tiny models: safetensors and .bin agree, and both match golden.json's inventory. */
class GoldenModelsTest {

    @Test
    void goldenModelsExist() {
        assertTrue(TestData.goldenModelDirs().size() >= 20, "golden models found: " + TestData.goldenModelDirs());
    }

    @TestFactory
    List<DynamicTest> safetensorsAndBinAgree() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : TestData.goldenModelDirs()) {
            Path st = dir.resolve("model.safetensors"), bin = dir.resolve("pytorch_model.bin");
            if (!Files.isRegularFile(st) || !Files.isRegularFile(bin)) {
                continue;
            }
            tests.add(DynamicTest.dynamicTest(TestData.golden().relativize(dir).toString(), () -> {
                try (WeightSource a = SafetensorsFile.open(st); WeightSource b = TorchCheckpoint.open(bin)) {
                    assertEquals("pytorch-zip", b.format());
                    Set<String> common = new HashSet<>(a.names());
                    common.retainAll(b.names());
                    assertFalse(common.isEmpty());
                    assertEquals(a.names(), common, "every safetensors key is in the .bin");
                    for (String n : common) {
                        TestData.assertSameTensor(dir.getFileName() + "/" + n, a.get(n), b.get(n));
                    }
                }
            }));
        }
        assertTrue(tests.size() >= 20);
        return tests;
    }

    @TestFactory
    List<DynamicTest> inventoriesMatchGoldenJson() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : TestData.goldenModelDirs()) {
            Path golden = dir.resolve("golden.json");
            if (!Files.isRegularFile(golden)) {
                continue;
            }
            JsonNode weights = TestData.json(golden).get("weights");
            if (weights == null) {
                continue;
            }
            for (String file : List.of("model.safetensors", "pytorch_model.bin")) {
                JsonNode inv = weights.get(file);
                if (inv == null || !Files.isRegularFile(dir.resolve(file))) {
                    continue;
                }
                tests.add(DynamicTest.dynamicTest(TestData.golden().relativize(dir) + "/" + file, () -> {
                    try (WeightSource src = Checkpoints.open(dir.resolve(file))) {
                        Set<String> expected = new HashSet<>();
                        for (Map.Entry<String, JsonNode> e : inv.properties()) {
                            expected.add(e.getKey());
                            TensorInfo info = src.info(e.getKey());
                            assertArrayEquals(TestData.shape(e.getValue().get("shape")), info.shape(), e.getKey());
                            assertEquals(TestData.dtype(e.getValue().get("dtype").asText()), info.dtype(), e.getKey());
                            Tensor t = src.get(e.getKey());
                            assertArrayEquals(info.shape(), t.shape());
                        }
                        assertEquals(expected, src.names());
                    }
                    if (file.equals("model.safetensors") && weights.has("safetensors_metadata")) {
                        try (WeightSource src = SafetensorsFile.open(dir.resolve(file))) {
                            weights.get("safetensors_metadata").properties()
                                    .forEach(m -> assertEquals(m.getValue().asText(), src.metadata().get(m.getKey())));
                        }
                    }
                }));
            }
        }
        assertTrue(tests.size() >= 40, "inventories: " + tests.size());
        return tests;
    }

    /** Every checkpoint file under golden/ (pipelines included) opens and every value reads as a finite number. */
    @TestFactory
    List<DynamicTest> everyGoldenFileReads() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : TestData.goldenModelDirs()) {
            for (String file : List.of("model.safetensors", "pytorch_model.bin")) {
                Path p = dir.resolve(file);
                if (Files.isRegularFile(p)) {
                    tests.add(DynamicTest.dynamicTest(TestData.golden().relativize(p).toString(), () -> {
                        try (WeightSource s = Checkpoints.open(p)) {
                            assertFalse(s.names().isEmpty());
                            for (String n : s.names()) {
                                for (float f : s.get(n).toFloatArray()) {
                                    assertTrue(Float.isFinite(f) || n.endsWith("masked_bias"), n);
                                }
                            }
                        }
                    }));
                }
            }
        }
        assertTrue(tests.size() >= 66, "golden checkpoint files: " + tests.size());
        return tests;
    }

    @Test
    void directoryPrefersSafetensors() {
        Path dir = TestData.golden().resolve("bert/masked_lm");
        try (WeightSource s = Checkpoints.open(dir)) {
            assertEquals("safetensors", s.format());
        }
    }

    @Test
    void tiedWeightsShareStorageInBin() {
        Path bin = TestData.golden().resolve("gpt2/lm_head/pytorch_model.bin");
        try (TorchCheckpoint c = TorchCheckpoint.open(bin)) {
            Tensor wte = c.get("transformer.wte.weight"), head = c.get("lm_head.weight");
            assertTrue(wte.storage().segment().address() == head.storage().segment().address(), "lm_head is tied to wte");
            assertTrue(c.sharedStorages().stream().anyMatch(l -> l.contains("lm_head.weight")));
            assertTrue(wte.segment().isMapped(), "stored zip entries are served from the file mapping, not copied");
        }
        try (SafetensorsFile f = SafetensorsFile.open(TestData.golden().resolve("gpt2/lm_head/model.safetensors"))) {
            assertTrue(f.get("transformer.wte.weight").segment().isMapped(), "safetensors tensors are views of the mapping");
        }
    }
}
