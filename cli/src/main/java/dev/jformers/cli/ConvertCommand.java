package dev.jformers.cli;

import dev.jformers.loaders.SafetensorsWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code jformers convert}: any supported checkpoint → Hugging Face-named safetensors. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Write SRC (safetensors, PyTorch .bin, TF checkpoint, ONNX, sharded or a model folder) as one "
                + "safetensors file DST with Hugging Face names.")
final class ConvertCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SRC")
    Path source;

    @Parameters(index = "1", paramLabel = "DST")
    Path target;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        // Checked before reading anything: converting a large checkpoint only to fail at the rename wastes minutes and disk.
        if (java.nio.file.Files.isDirectory(target)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "DST " + target + " is a folder; give the file to write, e.g. " + target.resolve("model.safetensors"));
        }
        SafetensorsWriter.convert(source, target);
        spec.commandLine().getOut().println("wrote " + target);
        return 0;
    }
}
