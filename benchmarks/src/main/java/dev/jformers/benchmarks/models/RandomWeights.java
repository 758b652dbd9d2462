package dev.jformers.benchmarks.models;

import dev.jformers.core.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/** What {@link RandomBert} and {@link RandomGpt2} share: a folder written once, weights drawn as HF initialises them. */
final class RandomWeights {
    private RandomWeights() {
    }

    /** Writes a checkpoint's files into a folder. */
    interface Writer {
        void write(Path dir) throws IOException;
    }

    /** {@code dir}, written by {@code writer} the first time (a {@code .complete} file marks a folder written whole). */
    static Path once(Path dir, Writer writer) {
        if (Files.isRegularFile(dir.resolve(".complete"))) {
            return dir;
        }
        try {
            Files.createDirectories(dir);
            writer.write(dir);
            Files.writeString(dir.resolve(".complete"), "");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    /** A tensor of {@code mean} + N(0, 0.02) values (HF's initializer_range for BERT and GPT-2). */
    static Tensor gaussian(SplittableRandom r, float mean, int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] data = new float[n];
        for (int i = 0; i < n; i++) {
            data[i] = mean + (float) (0.02 * r.nextGaussian());
        }
        return Tensor.of(data, shape);
    }
}
