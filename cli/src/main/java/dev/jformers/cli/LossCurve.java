package dev.jformers.cli;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Draws the training curve of a run as a PNG: the logged training loss (blue) and the evaluation loss (orange)
 * against the optimizer step, from trainer_state.json's log_history. Uses only the JDK (Java2D, ImageIO).
 */
final class LossCurve {
    private static final int WIDTH = 720, HEIGHT = 420, LEFT = 64, RIGHT = 20, TOP = 36, BOTTOM = 48;

    private LossCurve() {
    }

    /** Writes the curve; returns false (and writes nothing) when fewer than two points were logged. */
    static boolean write(List<Map<String, Object>> logHistory, String title, Path file) throws IOException {
        List<double[]> train = points(logHistory, "loss"), eval = points(logHistory, "eval_loss");
        if (train.size() + eval.size() < 2) {
            return false;
        }
        double maxStep = 1, lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
        for (List<double[]> series : List.of(train, eval)) {
            for (double[] p : series) {
                maxStep = Math.max(maxStep, p[0]);
                lo = Math.min(lo, p[1]);
                hi = Math.max(hi, p[1]);
            }
        }
        if (hi - lo < 1e-9) {
            hi = lo + 1;
        }
        double pad = 0.05 * (hi - lo);
        lo -= pad;
        hi += pad;
        BufferedImage img = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            int w = WIDTH - LEFT - RIGHT, h = HEIGHT - TOP - BOTTOM;
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            for (int i = 0; i <= 5; i++) {                       // grid and axis labels
                int y = TOP + h - i * h / 5;
                g.setColor(new Color(230, 230, 230));
                g.drawLine(LEFT, y, LEFT + w, y);
                g.setColor(Color.DARK_GRAY);
                g.drawString(String.format(Locale.ROOT, "%.2f", lo + i * (hi - lo) / 5), 8, y + 4);
                int x = LEFT + i * w / 5;
                g.drawString(String.valueOf(Math.round(i * maxStep / 5)), x - 8, TOP + h + 16);
            }
            g.setColor(Color.BLACK);
            g.drawRect(LEFT, TOP, w, h);
            g.drawString("step", LEFT + w / 2 - 10, HEIGHT - 10);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
            g.drawString(title, LEFT, 22);
            draw(g, train, new Color(31, 119, 180), maxStep, lo, hi, w, h);
            draw(g, eval, new Color(255, 127, 14), maxStep, lo, hi, w, h);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            g.setColor(new Color(31, 119, 180));
            g.drawString("training loss", LEFT + w - 190, 22);
            g.setColor(new Color(255, 127, 14));
            g.drawString("validation loss", LEFT + w - 100, 22);
        } finally {
            g.dispose();
        }
        ImageIO.write(img, "png", file.toFile());
        return true;
    }

    private static List<double[]> points(List<Map<String, Object>> logs, String key) {
        List<double[]> out = new ArrayList<>();
        for (Map<String, Object> e : logs) {
            if (e.get(key) instanceof Number v && e.get("step") instanceof Number s) {
                out.add(new double[] {s.doubleValue(), v.doubleValue()});
            }
        }
        return out;
    }

    private static void draw(Graphics2D g, List<double[]> series, Color color, double maxStep, double lo, double hi,
                             int w, int h) {
        g.setColor(color);
        g.setStroke(new BasicStroke(2f));
        int px = -1, py = -1;
        for (double[] p : series) {
            int x = LEFT + (int) Math.round(p[0] / maxStep * w);
            int y = TOP + h - (int) Math.round((p[1] - lo) / (hi - lo) * h);
            if (px >= 0) {
                g.drawLine(px, py, x, y);
            }
            g.fillOval(x - 2, y - 2, 5, 5);
            px = x;
            py = y;
        }
    }
}
