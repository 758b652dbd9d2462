package dev.jformers.cli;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Draws one attention map [T, T] as a PNG: row i = query token i, column j = key token j, darker
 * = more attention; tokens written along both axes. Uses only the JDK (Java2D, ImageIO).
 */
final class AttentionHeatmap {
    private static final int CELL = 22;

    private AttentionHeatmap() {
    }

    /** @param probs row-major [T·T] probabilities of one head */
    static void write(float[] probs, List<String> tokens, String title, Path file) throws IOException {
        int t = tokens.size();
        int margin = labelWidth(tokens);
        int top = margin + 24;
        BufferedImage img = new BufferedImage(margin + t * CELL + 10, top + t * CELL + 10, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, img.getWidth(), img.getHeight());
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < t; j++) {
                    float p = Math.max(0f, Math.min(1f, probs[i * t + j]));
                    int shade = Math.round(255 * (1 - p));
                    g.setColor(new Color(shade, shade, 255));   // white (0) to blue (1)
                    g.fillRect(margin + j * CELL, top + i * CELL, CELL - 1, CELL - 1);
                }
            }
            labels(g, tokens, title, margin, top);
        } finally {
            g.dispose();
        }
        ImageIO.write(img, "png", file.toFile());
    }

    private static int labelWidth(List<String> tokens) {
        int longest = tokens.stream().mapToInt(String::length).max().orElse(1);
        return Math.min(160, 12 + 7 * longest);
    }

    /** Token names left of the rows and above the columns (rotated); skipped where no font is installed. */
    private static void labels(Graphics2D g, List<String> tokens, String title, int margin, int top) {
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setFont(new Font(Font.MONOSPACED, Font.PLAIN, 11));
            g.setColor(Color.BLACK);
            g.drawString(title, 4, 14);
            for (int i = 0; i < tokens.size(); i++) {
                g.drawString(clip(tokens.get(i)), 4, top + i * CELL + CELL - 7);
            }
            AffineTransform saved = g.getTransform();
            for (int j = 0; j < tokens.size(); j++) {
                g.setTransform(saved);
                g.translate(margin + j * CELL + CELL - 7, top - 4);
                g.rotate(-Math.PI / 2);
                g.drawString(clip(tokens.get(j)), 0, 0);
            }
            g.setTransform(saved);
        } catch (RuntimeException | Error e) {
            // headless machine without fonts: the heatmap without labels is still useful
        }
    }

    private static String clip(String s) {
        return s.length() > 20 ? s.substring(0, 19) + "…" : s;
    }
}
