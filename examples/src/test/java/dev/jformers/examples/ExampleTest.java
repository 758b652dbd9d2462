package dev.jformers.examples;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the sample application as its users would, without {@code --add-modules jdk.incubator.vector}: it must work
 * (on the scalar backend) and say, once, that it runs slowly and which flag fixes it. The fill-mask step uses the
 * project's tiny test model instead of BERT-base, to keep the build short.
 */
class ExampleTest {
    @Test
    void theAppRunsAndWarnsAboutTheMissingVectorModule() {
        List<LogRecord> warnings = new ArrayList<>();
        Logger log = Logger.getLogger("dev.jformers");
        Handler capture = new Handler() {
            @Override public void publish(LogRecord r) { warnings.add(r); }
            @Override public void flush() { }
            @Override public void close() { }
        };
        log.addHandler(capture);
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            Path tinyFillMask = Path.of(System.getProperty("jformers.testdata", "../testdata"), "golden", "pipelines", "fill-mask-bert");
            double[] cosines = Example.run("sentence-transformers/all-MiniLM-L6-v2", tinyFillMask.toString(),
                    new PrintStream(bytes, true, StandardCharsets.UTF_8));
            String out = bytes.toString(StandardCharsets.UTF_8);
            assertTrue(cosines[0] > 0.7 && cosines[1] < 0.3, out);       // a paraphrase is close, an unrelated text is not
            assertTrue(out.contains("fill-mask: "), out);
            assertTrue(out.contains("last_hidden_state [2, 10, 384]") || out.contains("last_hidden_state [2, "), out);
        } finally {
            log.removeHandler(capture);
        }
        List<String> vector = warnings.stream().map(LogRecord::getMessage).filter(m -> m.contains("jdk.incubator.vector")).toList();
        assertEquals(1, vector.size(), "one warning naming the flag: " + vector);
    }
}
