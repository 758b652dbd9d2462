package dev.jformers.cli;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 19 through the command line (items 1, 8, 10): hostile folders and inputs end in one
 * line on stderr and exit 1, in the small-heap fork ("hostile").
 */
@Tag("hostile")
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class HostileCommandsTest {
    @TempDir
    Path tmp;

    private static void assertOneLineError(CoreCommandsTest.Run r) {
        assertEquals(1, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("jformers: "), r.err());
    }

    @Test
    void fillMaskDoesNotPredictLinesOfAFileOutsideTheFolder() throws IOException {
        Path secret = tmp.resolve("etc").resolve("passwd");
        Files.createDirectories(secret.getParent());
        Files.writeString(secret, "root:x:0:0:SECRET-LINE\n");
        Path model = Files.createDirectories(tmp.resolve("model"));
        Path src = PipelineCommandsTest.dir("fill-mask-bert");
        try (var files = Files.list(src)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals("vocab.txt")) {
                    Files.copy(f, model.resolve(f.getFileName()));
                }
            }
        }
        Files.createSymbolicLink(model.resolve("vocab.txt"), secret);
        CoreCommandsTest.Run r = CoreCommandsTest.run("fill-mask", "--model", model.toString(), "--backend", "scalar", "Paris is [MASK].");
        assertOneLineError(r);
        assertTrue(r.err().contains("leads outside the model folder"), r.err());
        assertFalse(r.out().contains("SECRET") || r.err().contains("SECRET") || r.err().contains("root:x"), r.err());
    }

    @Test
    void forwardChecksEveryRowBeforeAllocating() throws IOException {
        // The first row claims 100,000 columns, the 100,000 rows after it are empty: 10^10 ids.
        StringBuilder json = new StringBuilder("{\"input_ids\": [[");
        json.append("1,".repeat(99_999)).append("1]");
        json.append(",[]".repeat(100_000)).append("]}");
        Path in = tmp.resolve("in.json");
        Files.writeString(in, json);
        CoreCommandsTest.Run r = CoreCommandsTest.run("forward", "--model", tmp.toString(), "--input", in.toString());
        assertOneLineError(r);
        assertTrue(r.err().contains("not rectangular"), r.err());
        Files.writeString(in, "{\"input_ids\": [[1, 2.5]]}");
        r = CoreCommandsTest.run("forward", "--model", tmp.toString(), "--input", in.toString());
        assertOneLineError(r);
        assertTrue(r.err().contains("holds a number where an integer was expected"), r.err());
    }

    @Test
    void errorsAndUntypedExceptionsBecomeOneLine() {
        assertTrue(Main.oneLine(new OutOfMemoryError("Java heap space")).startsWith("out of memory"));
        assertTrue(Main.oneLine(new StackOverflowError()).contains("nested too deeply"));
        for (Throwable t : new Throwable[] {new ArithmeticException("/ by zero"), new NegativeArraySizeException("-1794967296"),
                new NullPointerException("Cannot invoke \"String.length()\" because \"cls\" is null"),
                new IndexOutOfBoundsException("Out of bound access on segment")}) {
            String m = Main.oneLine(new RuntimeException(t));
            assertTrue(m.startsWith("internal error (" + t.getClass().getSimpleName() + ")"), m);
            assertFalse(m.contains(t.getMessage()), m);
        }
    }

    @Test
    void anErrorThrownByACommandIsOneLineAndVerboseAddsTheTrace() throws IOException {
        // A JSON input nested 100,000 deep: whatever gives up first (Jackson's nesting limit or the
        // stack), the user sees one line, and the trace only with --verbose.
        Path in = tmp.resolve("deep.json");
        Files.writeString(in, "{\"input_ids\": " + "[".repeat(100_000) + "]".repeat(100_000) + "}");
        CoreCommandsTest.Run r = CoreCommandsTest.run("forward", "--model", tmp.toString(), "--input", in.toString());
        assertOneLineError(r);
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(new String[] {"forward", "--verbose", "--model", tmp.toString(), "--input", in.toString()},
                new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(1, code);
        assertTrue(err.toString().lines().count() > 3 && err.toString().contains("\tat "), err.toString());
    }
}
