package dev.jformers.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.training.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code jformers train} in a child JVM, stopped the ways a real run is stopped: Ctrl-C (a real SIGINT) and a disk
 * that fills up while a checkpoint is written (the kernel's file-size limit, {@code ulimit -f}, makes the write
 * fail as a full disk does). Each time the last complete checkpoint resumes, through the CLI, to exactly the run
 * that was never stopped: on the scalar backend the final model.safetensors is the same file, byte for byte, and
 * every logged loss is the same number.
 */
@DisabledOnOs(OS.WINDOWS)
class TrainInterruptTest {
    static final Path GPT2 = TrainCommandTest.golden("gpt2/lm_head");

    /** Shuffled (seed 7) over several epochs of the six rows, AdamW with warmup and decay, on the scalar backend. */
    static List<String> train(int maxSteps, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--model", GPT2.toString(), "--train",
                GPT2.resolve("train.jsonl").toString(), "--max-steps", String.valueOf(maxSteps),
                "--per-device-train-batch-size", "2", "--learning-rate", "1e-3", "--warmup-steps", "2",
                "--weight-decay", "0.01", "--logging-steps", "1", "--seed", "7", "--backend", "scalar"));
        a.addAll(List.of(more));
        return a;
    }

    static CoreCommandsTest.Run inProcess(List<String> args, String... more) {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of(more));
        return CoreCommandsTest.run(all.toArray(String[]::new));
    }

    /** The same jformers Main in a new JVM (this test JVM's class path), optionally behind a shell prefix. */
    static ProcessBuilder child(List<String> prefix, List<String> args) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD);
    }

    static List<Double> losses(Path out) throws Exception {
        List<Double> losses = new ArrayList<>();
        for (JsonNode e : TrainCommandTest.read(out.resolve("trainer_state.json")).get("log_history")) {
            if (e.has("loss")) {
                losses.add(e.get("loss").asDouble());
            }
        }
        return losses;
    }

    /**
     * SIGINT, unless this process tree ignores it (a JVM started in the background by a non-interactive shell
     * inherits SIGINT ignored and keeps it so): then SIGTERM, which runs the same shutdown hook.
     */
    static String interrupt(Process p) throws Exception {
        String signal = "INT";
        Path status = Path.of("/proc", String.valueOf(p.pid()), "status");
        if (Files.isReadable(status)) {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("SigIgn:") && (Long.parseLong(line.substring(7).strip(), 16) & 2) != 0) {
                    signal = "TERM";
                }
            }
        }
        assertEquals(0, new ProcessBuilder("kill", "-" + signal, String.valueOf(p.pid())).start().waitFor());
        return signal;
    }

    @Test
    void ctrlCStopsAfterTheStepAndTheCheckpointResumesToTheSameRun(@TempDir Path tmp) throws Exception {
        int steps = 30;
        Path reference = tmp.resolve("reference"), stopped = tmp.resolve("stopped");
        CoreCommandsTest.Run r = inProcess(train(steps, "--save-strategy", "no", "--output", reference.toString()));
        assertEquals(0, r.code(), r.err());

        Process p = child(List.of(), train(steps, "--save-strategy", "no", "--output", stopped.toString())).start();
        StringBuilder err = new StringBuilder();
        String signal = null;
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = lines.readLine()) != null; ) {
                err.append(line).append('\n');
                if (signal == null && line.startsWith("{\"loss\"")) {      // the first step is logged: Ctrl-C now
                    signal = interrupt(p);
                }
            }
        }
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), err.toString());
        assertNotNull(signal, "the child never logged a step: " + err);
        assertEquals(signal.equals("INT") ? 130 : 143, p.exitValue(), err.toString());   // 128 + the signal
        Path checkpoint = Trainer.lastCheckpoint(stopped);
        assertNotNull(checkpoint, "no checkpoint after Ctrl-C: " + err);
        int step = Integer.parseInt(checkpoint.getFileName().toString().substring("checkpoint-".length()));
        assertTrue(step >= 1 && step < steps, "the signal must land during training (stopped at " + step + ")");
        assertTrue(err.toString().contains("stopped after step " + step) && err.toString().contains("--resume-from-checkpoint "
                + checkpoint), err.toString());

        CoreCommandsTest.Run resumed = inProcess(train(steps, "--save-strategy", "no", "--output", stopped.toString(),
                "--resume-from-checkpoint", "true"));
        assertEquals(0, resumed.code(), resumed.err());
        assertEquals(losses(reference), losses(stopped));
        assertArrayEquals(Files.readAllBytes(reference.resolve("model.safetensors")),
                Files.readAllBytes(stopped.resolve("model.safetensors")), "stopped at " + step + " and resumed");
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void aDiskThatFillsUpDuringACheckpointLeavesTheLastCompleteOneUsable(@TempDir Path tmp) throws Exception {
        Path reference = tmp.resolve("reference"), crashed = tmp.resolve("crashed");
        CoreCommandsTest.Run r = inProcess(train(4, "--save-steps", "2", "--output", reference.toString()));
        assertEquals(0, r.code(), r.err());
        // the run that crashes had written checkpoint-2 and trained on
        Path kept = crashed.resolve("checkpoint-2");
        Files.createDirectories(kept);
        try (Stream<Path> files = Files.list(reference.resolve("checkpoint-2"))) {
            for (Path f : files.toList()) {
                Files.copy(f, kept.resolve(f.getFileName()));
            }
        }
        // Files over 200 kB cannot be written: model.safetensors (131 kB) fits, optimizer.safetensors (257 kB) does
        // not, so checkpoint-4 fails half-written, as on a full disk.
        Process p = child(List.of("bash", "-c", "ulimit -f 200 && exec \"$0\" \"$@\""),
                train(4, "--save-steps", "2", "--output", crashed.toString(), "--resume-from-checkpoint", "last"))
                .start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), err);
        assertEquals(1, p.exitValue(), err);
        String last = err.strip().lines().reduce((a, b) -> b).orElseThrow();
        assertTrue(last.startsWith("jformers: could not write " + crashed.resolve("checkpoint-4"))
                && last.contains("File too large") && last.contains(kept + " is intact"), err);
        assertFalse(Files.exists(crashed.resolve("checkpoint-4")), "no half-written checkpoint-4");
        assertFalse(Files.exists(crashed.resolve("tmp-checkpoint-4")), "the partial copy is removed");
        for (String f : new String[] {"model.safetensors", "optimizer.safetensors", "trainer_state.json"}) {
            assertArrayEquals(Files.readAllBytes(reference.resolve("checkpoint-2").resolve(f)),
                    Files.readAllBytes(kept.resolve(f)), f + " of the last complete checkpoint");
        }

        CoreCommandsTest.Run resumed = inProcess(train(4, "--save-steps", "2", "--output", crashed.toString(),
                "--resume-from-checkpoint", "last"));
        assertEquals(0, resumed.code(), resumed.err());
        assertEquals(losses(reference), losses(crashed));
        assertArrayEquals(Files.readAllBytes(reference.resolve("model.safetensors")),
                Files.readAllBytes(crashed.resolve("model.safetensors")));
        assertArrayEquals(Files.readAllBytes(reference.resolve("checkpoint-4/optimizer.safetensors")),
                Files.readAllBytes(crashed.resolve("checkpoint-4/optimizer.safetensors")));
    }
}
