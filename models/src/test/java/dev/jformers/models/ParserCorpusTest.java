package dev.jformers.models;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Replays the committed config.json / tokenizer.json fuzz corpora (seeds, regressions, findings) in the small-heap fork. */
@Tag("hostile")
class ParserCorpusTest {
    static Stream<Arguments> inputs() throws IOException, URISyntaxException {
        Path root = Path.of(ParserCorpusTest.class.getResource("ParserFuzzTestInputs").toURI());
        Stream.Builder<Arguments> out = Stream.builder();
        for (String target : new String[] {"configJson", "tokenizerJson"}) {
            try (Stream<Path> files = Files.list(root.resolve(target))) {
                files.filter(Files::isRegularFile).sorted().forEach(f -> out.add(Arguments.of(target, f.getFileName().toString(), f)));
            }
        }
        return out.build();
    }

    @ParameterizedTest(name = "{0}/{1}")
    @MethodSource("inputs")
    void replays(String target, String name, Path input) throws IOException {
        byte[] data = Files.readAllBytes(input);
        if (target.equals("configJson")) {
            ParserFuzzTargets.configJson(data);
        } else {
            ParserFuzzTargets.tokenizerJson(data);
        }
    }
}
