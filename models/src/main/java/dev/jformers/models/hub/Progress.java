package dev.jformers.models.hub;

import java.io.PrintStream;

/**
 * A text progress bar on stderr for long downloads, unpacking and loading, drawn only on a terminal (a log
 * or a pipe gets the one-line messages alone); silent when {@code JFORMERS_QUIET} is set. Redraws at most
 * every 200 ms.
 */
public final class Progress {
    private static final PrintStream ERR = System.err;
    private final String task;
    private final long total;
    private long done;
    private long lastDraw;

    public Progress(String task, long total) {
        this.task = task;
        this.total = total;
    }

    static boolean quiet() {
        return System.getenv("JFORMERS_QUIET") != null;
    }

    public static void message(String line) {
        if (!quiet()) {
            ERR.println(line);
        }
    }

    public synchronized void advance(long n) {
        done += n;
        long now = System.nanoTime();
        if (now - lastDraw > 200_000_000L) {
            lastDraw = now;
            draw();
        }
    }

    public synchronized void done() {
        done = Math.max(done, total);
        draw();
        if (drawBars()) {
            ERR.println();
        }
    }

    /** Bars only where someone watches: a terminal, not a log file or a pipe. */
    private static boolean drawBars() {
        return !quiet() && System.console() != null && System.console().isTerminal();
    }

    private void draw() {
        if (!drawBars()) {
            return;
        }
        int width = 30;
        double f = total <= 0 ? 1 : Math.min(1.0, (double) done / total);
        int filled = (int) (f * width);
        ERR.print("\r" + task + " [" + "#".repeat(filled) + " ".repeat(width - filled) + "] "
                + String.format("%3d%% %,d MB", (int) (f * 100), done >> 20));
        ERR.flush();
    }
}
