package dev.jformers.loaders;

import dev.jformers.core.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * What the loader fuzzers run on one input: open it the way a user's command would, read every
 * tensor, and accept only a {@link LoaderException} as failure. Any other throwable, more than
 * {@link #MAX_MILLIS} of work or more heap allocated than {@link #allocationBudget} is a finding.
 * {@link LoaderFuzzTest} hands these to Jazzer; {@link FuzzCorpusTest} replays the committed corpora.
 */
final class LoaderFuzzTargets {
    static final long MAX_MILLIS = 5_000;
    private static final Path DIR = tempDir();

    private LoaderFuzzTargets() {
    }

    static void safetensors(byte[] data) {
        asFile(data, "model.safetensors", f -> {
            try (SafetensorsFile s = SafetensorsFile.open(f)) {
                readAll(s);
            }
        });
    }

    /** A zip-format (or legacy) torch.save file: zip reader, inflation, pickle, storages. */
    static void torch(byte[] data) {
        asFile(data, "pytorch_model.bin", f -> {
            try (TorchCheckpoint c = TorchCheckpoint.open(f)) {
                readAll(c);
            }
        });
    }

    /** A bare state-dict pickle, as the zip format's data.pkl. */
    static void pickle(byte[] data) {
        budgeted(data, () -> TorchCheckpoint.readPickle(Path.of("data.pkl"), MemorySegment.ofArray(data)));
    }

    /** A TensorFlow checkpoint index (SSTable + BundleEntryProtos) next to a small data shard. */
    static void tfIndex(byte[] data) {
        Path shard = DIR.resolve("model.ckpt.data-00000-of-00001");
        try {
            if (!Files.exists(shard)) {
                Files.write(shard, new byte[4096]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        asFile(data, "model.ckpt.index", f -> {
            try (TfCheckpoint c = TfCheckpoint.open(DIR.resolve("model.ckpt"))) {
                readAll(c);
            }
        });
    }

    /** An ONNX model: protobuf reader, initializers, name recovery. */
    static void onnx(byte[] data) {
        asFile(data, "model.onnx", f -> {
            try (OnnxWeights w = OnnxWeights.open(f)) {
                readAll(w);
            }
        });
    }

    private static void readAll(WeightSource s) {
        for (String name : s.names()) {
            s.info(name);
            Tensor t = s.get(name);
            if (t.numel() > 0) {
                t.toFloatArray();
            }
        }
    }

    private static void asFile(byte[] data, String name, Consumer<Path> open) {
        Path f = DIR.resolve(name);
        try {
            Files.write(f, data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        budgeted(data, () -> open.accept(f));
    }

    /**
     * Runs {@code r}, accepting a LoaderException, then checks the time and heap it took. A first
     * run over budget may have paid for class loading and compilation: a second, warm run decides.
     */
    static void budgeted(byte[] data, Runnable r) {
        if (overBudget(data, r) != null) {
            String why = overBudget(data, r);
            if (why != null) {
                throw new AssertionError(why);
            }
        }
    }

    private static String overBudget(byte[] data, Runnable r) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long allocated = threads.getCurrentThreadAllocatedBytes(), start = System.nanoTime();
        try {
            r.run();
        } catch (LoaderException expected) {
            // the one way a loader may refuse an input
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        long bytes = threads.getCurrentThreadAllocatedBytes() - allocated;
        if (millis > MAX_MILLIS) {
            return "input of " + data.length + " bytes took " + millis + " ms";
        }
        if (bytes > allocationBudget(data.length)) {
            return "input of " + data.length + " bytes allocated " + bytes + " heap bytes";
        }
        return null;
    }

    /** Reading every tensor may copy the input a few times over, plus a fixed allowance. */
    static long allocationBudget(int inputBytes) {
        return (64L << 20) + 64L * inputBytes;
    }

    /** Removes a scratch folder of plain files (run at exit, so that no test run leaves inputs behind). */
    static void deleteTree(Path d) {
        try (var files = Files.list(d)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(d);
        } catch (IOException e) {
            // best effort at exit
        }
    }

    private static Path tempDir() {
        try {
            Path shm = Path.of("/dev/shm");
            Path d = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "jformers-fuzz")
                    : Files.createTempDirectory("jformers-fuzz");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(d)));
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
