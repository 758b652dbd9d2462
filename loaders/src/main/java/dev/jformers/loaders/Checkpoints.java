package dev.jformers.loaders;

import dev.jformers.core.ModelFolder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Opens whatever checkpoint a path holds. For a model directory the order of preference is
 * Hugging Face's: {@code model.safetensors}, {@code model.safetensors.index.json},
 * {@code pytorch_model.bin}, {@code pytorch_model.bin.index.json}, then a TensorFlow
 * checkpoint (a SavedModel's {@code variables/variables} or a directory's single
 * {@code *.index}), then {@code model.onnx} or the directory's only {@code *.onnx} file. TensorFlow names are mapped to
 * Hugging Face names with the {@link TfNames} table that fits them.
 */
public final class Checkpoints {
    private Checkpoints() {
    }

    public static WeightSource open(Path path) {
        if (Files.isDirectory(path)) {
            return openDirectory(path);
        }
        String name = path.getFileName() == null ? "" : path.getFileName().toString();
        if (name.endsWith(".safetensors.index.json")) {
            return ShardedSource.open(path, SafetensorsFile::open);
        }
        if (name.endsWith(".index.json")) {
            return ShardedSource.open(path, TorchCheckpoint::open);
        }
        if (name.endsWith(".safetensors")) {
            return SafetensorsFile.open(path);
        }
        if (name.endsWith(".onnx")) {
            return OnnxWeights.open(path);
        }
        if (name.endsWith(".bin") || name.endsWith(".pt") || name.endsWith(".pth") || name.endsWith(".ckpt") && Files.isRegularFile(path)) {
            return TorchCheckpoint.open(path);
        }
        if (TfCheckpoint.findPrefix(path) != null) {
            return tensorflow(path);
        }
        if (Files.isRegularFile(path)) {
            return looksLikeSafetensors(path) ? SafetensorsFile.open(path) : TorchCheckpoint.open(path); // the latter says what it found
        }
        throw LoaderException.of(path, null, "no such file or checkpoint prefix");
    }

    /** A safetensors file starts with an 8-byte header length followed by '{'. */
    private static boolean looksLikeSafetensors(Path file) {
        try (var in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(9);
            return head.length == 9 && head[8] == '{';
        } catch (IOException e) {
            return false;
        }
    }

    private static WeightSource openDirectory(Path dir) {
        for (String candidate : List.of("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")) {
            Path p = dir.resolve(candidate);
            if (Files.isRegularFile(p)) {
                return open(inside(dir, p));
            }
        }
        if (TfCheckpoint.findPrefix(dir) != null) {
            return tensorflow(dir);
        }
        if (Files.isRegularFile(dir.resolve("tf_model.h5"))) {
            throw LoaderException.of(dir, null, "holds only tf_model.h5 (Keras HDF5), which is not supported");
        }
        if (Files.isRegularFile(dir.resolve("model.onnx"))) {
            return OnnxWeights.open(inside(dir, dir.resolve("model.onnx")));
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> onnx = files.filter(p -> p.getFileName().toString().endsWith(".onnx")).toList();
            if (onnx.size() == 1) {
                return OnnxWeights.open(inside(dir, onnx.getFirst()));
            }
            if (onnx.size() > 1) {
                throw LoaderException.of(dir, null, "holds several .onnx files " + onnx.stream().map(p -> p.getFileName().toString()).sorted().toList()
                        + "; name the one to load");
            }
        } catch (IOException e) {
            throw LoaderException.of(dir, null, "cannot list: " + e.getMessage(), e);
        }
        throw LoaderException.of(dir, null, "no checkpoint found (model.safetensors, pytorch_model.bin, their .index.json, "
                + "a TensorFlow checkpoint or one .onnx file)");
    }

    /**
     * {@code file}, found in the model folder {@code dir}, unless it is a link that leads out of
     * the folder (see {@link ModelFolder}): then a LoaderException, and not a byte of it read.
     */
    static Path inside(Path dir, Path file) {
        String escape = ModelFolder.escape(dir, file);
        if (escape != null) {
            throw LoaderException.of(file, null, escape);
        }
        return file;
    }

    /** A TensorFlow checkpoint under Hugging Face names. */
    private static WeightSource tensorflow(Path path) {
        TfCheckpoint tf = TfCheckpoint.open(path);
        try {
            return TfNames.detect(tf.names()).apply(tf);
        } catch (RuntimeException e) {
            tf.close();
            throw e;
        }
    }
}
