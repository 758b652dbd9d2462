package dev.jformers.cli;

import dev.jformers.loaders.Inspect;
import dev.jformers.loaders.TensorInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code jformers inspect}: what a checkpoint holds, reading headers only. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "List the tensors of a checkpoint (safetensors, PyTorch .bin, TF checkpoint, ONNX, sharded or a "
                + "model folder): name, dtype, shape, bytes, and totals.")
final class InspectCommand implements Callable<Integer> {
    @Parameters(paramLabel = "PATH")
    Path path;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Inspect.Inspection info = Inspect.describe(path);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            var root = Json.MAPPER.createObjectNode();
            root.put("path", info.path().toString());
            root.put("format", info.format());
            root.put("parameters", info.parameters());
            root.put("bytes", info.bytes());
            var tensors = root.putArray("tensors");
            for (TensorInfo t : info.tensors()) {
                var o = tensors.addObject();
                o.put("name", t.name());
                o.put("dtype", t.dtype().safetensorsName());
                var shape = o.putArray("shape");
                Arrays.stream(t.shape()).forEach(shape::add);
                o.put("bytes", t.byteSize());
            }
            out.println(Json.MAPPER.writeValueAsString(root));
            return 0;
        }
        int width = info.tensors().stream().mapToInt(t -> t.name().length()).max().orElse(4);
        out.printf("%-" + width + "s  %-5s  %-20s  %12s%n", "name", "dtype", "shape", "bytes");
        for (TensorInfo t : info.tensors()) {
            out.printf("%-" + width + "s  %-5s  %-20s  %12d%n", t.name(), t.dtype().safetensorsName(),
                    Arrays.toString(t.shape()), t.byteSize());
        }
        out.printf("%n%s (%s): %d tensors, %,d parameters, %,d bytes", info.path(), info.format(),
                info.tensors().size(), info.parameters(), info.bytes());
        for (Map.Entry<String, Long> e : info.byDType().entrySet()) {
            out.printf("; %s %,d", e.getKey(), e.getValue());
        }
        out.println();
        return 0;
    }
}
