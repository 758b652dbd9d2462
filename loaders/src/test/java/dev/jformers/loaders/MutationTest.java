package dev.jformers.loaders;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Truncates fixtures and flips their bytes (a few thousand variants, seeded), opening each
 * variant and reading every tensor: the only acceptable outcomes are success and
 * {@link LoaderException} — never another exception, a crash or a hang.
 */
class MutationTest {
    private static final int VARIANTS_PER_FIXTURE = 400;
    private static final long MAX_MILLIS_PER_VARIANT = 2_000;

    @TempDir
    static Path tmp;

    /** A fixture: the bytes to mutate, the file name to give them, and a sibling that stays intact (TF). */
    private record Fixture(String label, byte[] bytes, String fileName, List<Path> intactSiblings) {
        Fixture(String label, byte[] bytes, String fileName, Path sibling) {
            this(label, bytes, fileName, sibling == null ? List.of() : List.of(sibling));
        }
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<Fixture> fixtures() {
        Path tfDir = TfCheckpointTest.resource("tf/gpt2-base");
        Path sharded = TestData.formats().resolve("bert-masked_lm/sharded_safetensors");
        return List.of(
                new Fixture("safetensors", read(TestData.formats().resolve("gpt2-lm_head/sharded_safetensors/model-00004-of-00004.safetensors")), "model.safetensors", (Path) null),
                new Fixture("pytorch zip", read(TestData.formats().resolve("gpt2-lm_head/sharded_bin/pytorch_model-00004-of-00005.bin")), "pytorch_model.bin", (Path) null),
                new Fixture("pytorch legacy", read(TestData.formats().resolve("gpt2-lm_head/legacy_bin/pytorch_model.bin")), "pytorch_model.bin", (Path) null),
                new Fixture("malicious pickle", read(TestData.formats().resolve("bad/malicious_pickle/pytorch_model.bin")), "pytorch_model.bin", (Path) null),
                new Fixture("tf index", read(tfDir.resolve("model.ckpt.index")), "model.ckpt.index", tfDir.resolve("model.ckpt.data-00000-of-00001")),
                new Fixture("tf data", read(tfDir.resolve("model.ckpt.data-00000-of-00001")), "model.ckpt.data-00000-of-00001", tfDir.resolve("model.ckpt.index")),
                new Fixture("onnx", OnnxWeightsTest.model(false), "model.onnx", (Path) null),
                new Fixture("sharded index", read(sharded.resolve("model.safetensors.index.json")), "model.safetensors.index.json",
                        List.of(sharded.resolve("model-00001-of-00003.safetensors"), sharded.resolve("model-00002-of-00003.safetensors"),
                                sharded.resolve("model-00003-of-00003.safetensors"))));
    }

    @TestFactory
    List<DynamicTest> onlyLoaderExceptionsComeOut() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Fixture f : fixtures()) {
            tests.add(DynamicTest.dynamicTest(f.label, () -> mutate(f)));
        }
        return tests;
    }

    private static void mutate(Fixture f) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(f.label.replace(' ', '_')));
        Path target = dir.resolve(f.fileName);
        for (Path sibling : f.intactSiblings) {
            Files.copy(sibling, dir.resolve(sibling.getFileName()));
        }
        Random rnd = new Random(f.label.hashCode());
        byte[] original = f.bytes;
        int n = original.length;
        int rejected = 0, wrapped = 0;
        for (int v = 0; v < VARIANTS_PER_FIXTURE; v++) {
            byte[] bytes;
            String what;
            if (v % 4 == 0) {
                // Truncation: favour the ends, where headers and directories live.
                int len = switch (v % 3) {
                    case 0 -> rnd.nextInt(Math.min(n, 4096));
                    case 1 -> Math.max(0, n - 1 - rnd.nextInt(Math.min(n, 4096)));
                    default -> rnd.nextInt(n);
                };
                bytes = java.util.Arrays.copyOf(original, len);
                what = "truncated to " + len;
            } else {
                bytes = original.clone();
                StringBuilder sb = new StringBuilder("flipped");
                int flips = 1 + rnd.nextInt(4);
                for (int k = 0; k < flips; k++) {
                    int region = rnd.nextInt(3);
                    int pos = switch (region) {
                        case 0 -> rnd.nextInt(Math.min(n, 2048));
                        case 1 -> n - 1 - rnd.nextInt(Math.min(n, 2048));
                        default -> rnd.nextInt(n);
                    };
                    byte b = (byte) (rnd.nextBoolean() ? rnd.nextInt(256) : bytes[pos] ^ (1 << rnd.nextInt(8)));
                    bytes[pos] = b;
                    sb.append(' ').append(pos);
                }
                what = sb.toString();
            }
            Files.write(target, bytes);
            long t0 = System.nanoTime();
            try (WeightSource s = Checkpoints.open(target)) {
                for (String name : s.names()) {
                    s.info(name);
                    s.get(name).toFloatArray();
                }
            } catch (LoaderException expected) {
                // The only acceptable failure; one that wraps a JDK exception means a check is missing upstream.
                if (expected.getCause() != null) {
                    wrapped++;
                    System.out.println(f.label + " variant " + v + " (" + what + "): wrapped " + expected.getCause());
                }
                rejected++;
            } catch (Throwable t) {
                fail(f.label + " variant " + v + " (" + what + "): " + t, t);
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            if (ms > MAX_MILLIS_PER_VARIANT) {
                fail(f.label + " variant " + v + " (" + what + ") took " + ms + " ms");
            }
        }
        System.out.printf("%s: %d variants, %d rejected, %d of them by the safety net%n", f.label, VARIANTS_PER_FIXTURE, rejected, wrapped);
    }
}
