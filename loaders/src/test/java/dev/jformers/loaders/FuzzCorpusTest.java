package dev.jformers.loaders;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Replays every committed fuzz input (seeds, regressions for each hostile-input finding, and
 * whatever a fuzzing run added) through the same targets the fuzzer runs: each must end in a
 * LoaderException or a clean read, within the time and heap budget (in the small-heap fork of the
 * "hostile" tests).
 */
@Tag("hostile")
class FuzzCorpusTest {
    private static final Map<String, Consumer<byte[]>> TARGETS = Map.of(
            "safetensors", LoaderFuzzTargets::safetensors,
            "torch", LoaderFuzzTargets::torch,
            "pickle", LoaderFuzzTargets::pickle,
            "tfIndex", LoaderFuzzTargets::tfIndex,
            "onnx", LoaderFuzzTargets::onnx);

    static Stream<Arguments> inputs() throws IOException, URISyntaxException {
        Path root = Path.of(FuzzCorpusTest.class.getResource("LoaderFuzzTestInputs").toURI());
        Stream.Builder<Arguments> out = Stream.builder();
        for (String target : TARGETS.keySet().stream().sorted().toList()) {
            Path dir = root.resolve(target);
            assertFalse(!Files.isDirectory(dir), "no corpus for " + target);
            try (Stream<Path> files = Files.list(dir)) {
                files.filter(Files::isRegularFile).sorted().forEach(f -> out.add(Arguments.of(target, f.getFileName().toString(), f)));
            }
        }
        return out.build();
    }

    @ParameterizedTest(name = "{0}/{1}")
    @MethodSource("inputs")
    void replays(String target, String name, Path input) throws IOException {
        TARGETS.get(target).accept(Files.readAllBytes(input));
    }
}
