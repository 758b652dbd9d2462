package dev.jformers.loaders.hub;

import java.io.PrintStream;

/**
 * Hears about downloads: one {@link #begin} per file, {@link #advance} as bytes arrive,
 * {@link #end}. {@link #stderr()} draws a bar on standard error; {@link #silent()} says nothing.
 */
public interface DownloadProgress {
    void begin(String file, long totalBytes);

    void advance(long bytes);

    void end();

    /** A one-line notice (a fallback to the cache, a resumed download). */
    void note(String line);

    static DownloadProgress silent() {
        return new DownloadProgress() {
            @Override
            public void begin(String file, long totalBytes) {
            }

            @Override
            public void advance(long bytes) {
            }

            @Override
            public void end() {
            }

            @Override
            public void note(String line) {
            }
        };
    }

    /** A progress bar on stderr, redrawn at most every 200 ms; silent when {@code JFORMERS_QUIET} is set. */
    static DownloadProgress stderr() {
        return System.getenv("JFORMERS_QUIET") != null ? silent() : new Bar(System.err);
    }

    /** The stderr bar. */
    final class Bar implements DownloadProgress {
        private final PrintStream out;
        private String file;
        private long total;
        private long done;
        private long lastDraw;

        Bar(PrintStream out) {
            this.out = out;
        }

        @Override
        public synchronized void begin(String file, long totalBytes) {
            this.file = file;
            this.total = totalBytes;
            this.done = 0;
            this.lastDraw = System.nanoTime();
            draw();
        }

        @Override
        public synchronized void advance(long bytes) {
            done += bytes;
            long now = System.nanoTime();
            if (now - lastDraw > 200_000_000L) {
                lastDraw = now;
                draw();
            }
        }

        @Override
        public synchronized void end() {
            done = Math.max(done, total);
            draw();
            out.println();
        }

        @Override
        public synchronized void note(String line) {
            out.println(line);
        }

        private void draw() {
            int width = 30;
            double f = total <= 0 ? 0 : Math.min(1.0, (double) done / total);
            int filled = (int) (f * width);
            out.print("\rdownloading " + file + " [" + "#".repeat(filled) + " ".repeat(width - filled) + "] "
                    + String.format("%3d%% %s", (int) (f * 100), HubCache.humanSize(done)));
            out.flush();
        }
    }
}
