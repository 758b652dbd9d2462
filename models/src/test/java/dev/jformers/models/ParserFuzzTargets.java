package dev.jformers.models;

import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.JformersException;
import dev.jformers.tokenizers.AutoTokenizer;
import dev.jformers.tokenizers.TokenizerException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the config.json and tokenizer.json fuzzers run on one input: a model folder with a tiny
 * BERT's weights and the fuzzed config.json, loaded as {@code AutoModel} and run on one token;
 * a fuzzed tokenizer.json loaded and asked to encode a sentence. Only the typed exceptions
 * (ConfigException, ShapeException, MissingWeightsException… all JformersException;
 * TokenizerException) may come out, within a time and heap budget.
 */
final class ParserFuzzTargets {
    private static final long MAX_MILLIS = 5_000, FIXED_ALLOWANCE = 64L << 20;
    private static final Path DIR = modelFolder();
    private static final Backend BACKEND = Backends.create("scalar");

    private ParserFuzzTargets() {
    }

    static void configJson(byte[] data) {
        write(DIR.resolve("config.json"), data);
        budgeted(data, () -> {
            try {
                PreTrainedModel m = AutoModels.loadArchitecture(DIR, BACKEND);
                m.forward(ModelInput.of(new long[][] {{0, 1}}));
            } catch (JformersException expected) {
                // config refused, or weights that do not fit it
            }
        });
    }

    static void tokenizerJson(byte[] data) {
        Path f = DIR.resolve("tokenizer.json");
        write(f, data);
        budgeted(data, () -> {
            try {
                AutoTokenizer.fromTokenizerJson(f).encode("Hello, World! [MASK] ünïcödé 你好 <s> don't   stop");
            } catch (TokenizerException expected) {
                // not a tokenizer we can read
            }
        });
    }

    private static void write(Path f, byte[] data) {
        try {
            Files.write(f, data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Like the loaders' fuzz budget: a first run over budget may be class loading; a warm second run decides. */
    private static void budgeted(byte[] data, Runnable r) {
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
        r.run();
        long millis = (System.nanoTime() - start) / 1_000_000;
        long bytes = threads.getCurrentThreadAllocatedBytes() - allocated;
        if (millis > MAX_MILLIS) {
            return "input of " + data.length + " bytes took " + millis + " ms";
        }
        return bytes > FIXED_ALLOWANCE + 64L * data.length ? "input of " + data.length + " bytes allocated " + bytes + " heap bytes" : null;
    }

    /** A folder holding the tiny golden BERT's weights (the fuzzer writes config.json / tokenizer.json into it). */
    private static Path modelFolder() {
        try {
            Path d = Files.createTempDirectory("jformers-fuzz-model");
            Files.copy(Golden.golden().resolve("bert/base/model.safetensors"), d.resolve("model.safetensors"));
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try (var files = Files.list(d)) {
                    for (Path f : files.toList()) {
                        Files.deleteIfExists(f);
                    }
                    Files.deleteIfExists(d);
                } catch (IOException e) {
                    // best effort at exit
                }
            }));
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
