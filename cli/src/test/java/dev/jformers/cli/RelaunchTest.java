package dev.jformers.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code jformers} started without the Vector API flag starts again with it (unless JFORMERS_RELAUNCH=0). */
class RelaunchTest {
    static String devices(boolean relaunch) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "devices").redirectErrorStream(true);
        if (!relaunch) {
            pb.environment().put("JFORMERS_RELAUNCH", "0");
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    static String cpuLine(String out) {
        return out.lines().filter(l -> l.startsWith("cpu ")).findFirst().orElseThrow(() -> new AssertionError(out));
    }

    @Test
    void startsAgainWithTheVectorModule() throws Exception {
        String relaunched = devices(true);
        assertTrue(!cpuLine(relaunched).contains("unavailable"), relaunched);
        String plain = devices(false);
        assertTrue(cpuLine(plain).contains("unavailable: the JVM was started without --add-modules jdk.incubator.vector"), plain);
    }
}
