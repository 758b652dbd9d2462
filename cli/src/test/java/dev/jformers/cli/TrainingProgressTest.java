package dev.jformers.cli;

import dev.jformers.training.TrainerCallback;
import dev.jformers.training.TrainerState;
import dev.jformers.training.TrainingArguments;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The progress of {@code jformers train}: on a terminal a bar with the step, loss, learning rate, samples/s and
 * time left, log entries above it; elsewhere only JSON lines (nothing a log file or a pipe would show as garbage).
 */
class TrainingProgressTest {

    /** Ten steps of batch 4 with accumulation 2 (8 samples a step), a log entry at step 5. */
    static String run(boolean bar) {
        StringWriter text = new StringWriter();
        TrainingProgress progress = new TrainingProgress(new PrintWriter(text), bar);
        TrainingArguments args = new TrainingArguments(Path.of("out"));
        args.perDeviceTrainBatchSize = 4;
        args.gradientAccumulationSteps = 2;
        TrainerState state = new TrainerState();
        state.maxSteps = 10;
        TrainerCallback.TrainerControl control = new TrainerCallback.TrainerControl();
        progress.onTrainBegin(args, state, control);
        for (int step = 1; step <= 10; step++) {
            state.globalStep = step;
            state.stepLoss = 2.0 / step;
            state.stepLearningRate = 1e-3 * (10 - step) / 10;
            progress.onStepEnd(args, state, control);
            if (step == 5) {
                Map<String, Object> logs = new LinkedHashMap<>();
                logs.put("loss", 0.5);
                logs.put("step", 5);
                progress.onLog(args, state, control, logs);
            }
        }
        progress.onTrainEnd(args, state, control);
        return text.toString();
    }

    @Test
    void onATerminalABarWithStepLossLearningRateSpeedAndTimeLeft() {
        String out = run(true);
        assertTrue(out.contains("\r"), "redrawn in place");
        String last = out.substring(out.lastIndexOf('\r') + 1).strip();
        assertTrue(last.contains("10/10"), last);
        assertTrue(last.contains("loss 0.2000 lr 0.0e+00"), last);
        assertTrue(last.matches(".*\\d+\\.\\d samples/s"), last);
        assertTrue(last.contains("100%") && last.matches(".*\\(\\d+:\\d\\d:\\d\\d / \\d+:\\d\\d:\\d\\d\\).*"),
                "time spent / time left: " + last);
        assertTrue(out.contains("{\"loss\":0.5,\"step\":5}\n"), "the log entry on a line of its own: " + out);
        assertTrue(out.endsWith("\n"), "the bar's line ends when training does");
    }

    @Test
    void elsewhereOnlyJsonLines() {
        String out = run(false);
        assertEquals("{\"loss\":0.5,\"step\":5}\n", out);
        assertFalse(TrainingProgress.stderrIsTerminal() && System.getenv("CI") != null, "CI's stderr is no terminal");
    }

    @Test
    void theExtraTextIsCompact() {
        assertEquals("loss 0.4213 lr 2.0e-05 31.2 samples/s", TrainingProgress.extra(0.42131, 2e-5, 31.24));
    }
}
