package dev.jformers.cli;

import dev.jformers.training.TrainerCallback;
import dev.jformers.training.TrainerState;
import dev.jformers.training.TrainingArguments;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code jformers train} shows while it trains, on stderr, as Hugging Face's Trainer does with tqdm:
 * <ul>
 *   <li>on a terminal, a progress bar (me.tongfei:progressbar) redrawn in place: steps done of max_steps, time spent
 *   and left, the last step's loss and learning rate, samples per second; each log entry printed above it;</li>
 *   <li>anywhere else (a pipe, a log file, {@code --disable-tqdm}), each log entry as one JSON line and nothing else:
 *   no carriage returns or redraws in a log.</li>
 * </ul>
 * The bar writes to the command's own stderr writer with a fixed width (the terminal's, read once), so the library
 * never opens the terminal itself: a JLine system terminal installs signal handlers of its own, and Ctrl-C must reach
 * the JVM's shutdown hook, which leaves the checkpoint.
 */
final class TrainingProgress implements TrainerCallback {
    private final PrintWriter err;
    private final boolean bar;
    private final int width;
    private ProgressBar progress;
    private long start;
    private int firstStep;

    TrainingProgress(PrintWriter err, boolean bar) {
        this.err = err;
        this.bar = bar;
        this.width = bar ? columns() : 0;
    }

    /**
     * Whether stderr is a terminal: on Linux what /proc/self/fd/2 points to (a log file or a pipe is not); elsewhere
     * the JDK's console (stdin and stdout on a terminal). A dumb terminal gets no bar.
     */
    static boolean stderrIsTerminal() {
        if ("dumb".equals(System.getenv("TERM"))) {
            return false;
        }
        Path fd = Path.of("/proc/self/fd/2");
        if (Files.exists(fd, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try {
                String target = Files.readSymbolicLink(fd).toString();
                return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
            } catch (Exception e) {
                return false;
            }
        }
        java.io.Console console = System.console();
        return console != null && console.isTerminal();
    }

    /** The terminal's width: {@code COLUMNS} when exported, else what {@code stty size} says of /dev/tty, else 80. */
    private static int columns() {
        int c = 80;
        try {
            String env = System.getenv("COLUMNS");
            if (env != null) {
                c = Integer.parseInt(env.strip());
            } else if (Files.exists(Path.of("/dev/tty"))) {
                Process stty = new ProcessBuilder("stty", "size").redirectInput(new java.io.File("/dev/tty"))
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                String[] size = new String(stty.getInputStream().readAllBytes()).strip().split("\\s+");
                if (stty.waitFor() == 0 && size.length == 2) {
                    c = Integer.parseInt(size[1]);
                }
            }
        } catch (Exception e) {
            // no terminal to ask: 80 columns
        }
        return Math.max(40, Math.min(c, 200)) - 1;     // one column spare: a full line wraps on some terminals
    }

    @Override
    public void onTrainBegin(TrainingArguments args, TrainerState state, TrainerControl control) {
        start = System.nanoTime();
        firstStep = state.globalStep;
        if (bar) {
            progress = ProgressBar.builder()
                    .setTaskName("")
                    .setInitialMax(state.maxSteps)
                    .startsFrom(state.globalStep, Duration.ZERO)   // resumed: time left from this run's pace
                    .setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(250)
                    .setConsumer(new DelegatingProgressBarConsumer(line -> {
                        err.print("\r" + line);
                        err.flush();
                    }, width))
                    .build();
        }
    }

    @Override
    public void onStepEnd(TrainingArguments args, TrainerState state, TrainerControl control) {
        if (progress != null) {
            double seconds = (System.nanoTime() - start) / 1e9;
            double samples = (state.globalStep - firstStep) * (double) args.perDeviceTrainBatchSize
                    * args.gradientAccumulationSteps / Math.max(seconds, 1e-9);
            progress.setExtraMessage(extra(state.stepLoss, state.stepLearningRate, samples));
            progress.stepTo(state.globalStep);
        }
    }

    /** "loss 0.4213 lr 2.0e-05 31.2 samples/s": what follows the bar. */
    static String extra(double loss, double lr, double samplesPerSecond) {
        return String.format(Locale.ROOT, "loss %.4f lr %.1e %.1f samples/s", loss, lr, samplesPerSecond);
    }

    @Override
    public void onLog(TrainingArguments args, TrainerState state, TrainerControl control, Map<String, Object> logs) {
        String line = TrainCommand.PipelineCommandJson.line(logs);
        if (progress != null) {
            err.print("\r" + " ".repeat(width) + "\r" + line + "\n");   // above the bar, which redraws below it
            err.flush();
            progress.refresh();
        } else {
            err.println(line);
            err.flush();
        }
    }

    @Override
    public void onTrainEnd(TrainingArguments args, TrainerState state, TrainerControl control) {
        close();
    }

    /** Draws the bar one last time and ends its line (also when training failed). */
    void close() {
        if (progress != null) {
            progress.close();
            progress = null;
            err.println();
            err.flush();
        }
    }
}
