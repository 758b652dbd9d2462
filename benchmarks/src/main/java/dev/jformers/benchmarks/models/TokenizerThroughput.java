package dev.jformers.benchmarks.models;

import dev.jformers.tokenizers.AutoTokenizer;
import dev.jformers.tokenizers.Tokenizer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import dev.jformers.benchmarks.ForkFlags;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Tokenizer throughput on one core: BERT WordPiece (uncased) and GPT-2 byte-level BPE encoding about
 * 1 MB of English text, paragraph by paragraph (full encodings: ids, offsets, masks). One call encodes
 * the whole corpus; MB/s = {@link #CORPUS_BYTES} / 10⁶ / (seconds per call).
 *
 * <p>Vocabularies: {@code -Djformers.bench.vocab=DIR} (holding bert-base-uncased/vocab.txt and
 * gpt2/vocab.json, gpt2/merges.txt), by default the repository's testdata/vocab found from the working
 * directory upwards. Text: {@code -Djformers.bench.text=FILE} (UTF-8), by default the English licence
 * texts in /usr/share/common-licenses plus the repository's docs/*.md, repeated up to 1 MB.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", ForkFlags.HUGE_PAGES})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
public class TokenizerThroughput {
    public static final int CORPUS_BYTES = 1_000_000;

    @Param({"bert-wordpiece", "gpt2-bpe"})
    public String tokenizer;

    private Tokenizer tok;
    private List<String> paragraphs;
    private long bytes;

    @Setup(Level.Trial)
    public void setup() {
        Path vocab = vocabDir();
        tok = switch (tokenizer) {
            case "bert-wordpiece" -> AutoTokenizer.bertFromVocab(vocab.resolve("bert-base-uncased/vocab.txt"), true);
            case "gpt2-bpe" -> AutoTokenizer.gpt2FromFiles(vocab.resolve("gpt2/vocab.json"), vocab.resolve("gpt2/merges.txt"));
            default -> throw new IllegalArgumentException(tokenizer);
        };
        paragraphs = corpus();
        bytes = paragraphs.stream().mapToLong(p -> p.getBytes(StandardCharsets.UTF_8).length).sum();
        long tokens = paragraphs.stream().mapToLong(p -> tok.encode(p).length()).sum();
        System.out.printf("%n[setup] %s: %d paragraphs, %d bytes, %d tokens (%.2f bytes/token)%n", tokenizer, paragraphs.size(),
                bytes, tokens, (double) bytes / tokens);
    }

    @Benchmark
    public long encodeCorpus() {
        long n = 0;
        for (String p : paragraphs) {
            n += tok.encode(p).length();
        }
        return n;
    }

    static Path vocabDir() {
        String p = System.getProperty("jformers.bench.vocab");
        if (p != null) {
            return Path.of(p);
        }
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path candidate = d.resolve("testdata/vocab");
            if (Files.isDirectory(candidate.resolve("gpt2"))) {
                return candidate;
            }
        }
        throw new IllegalStateException("no testdata/vocab above " + Path.of("").toAbsolutePath()
                + "; pass -Djformers.bench.vocab=DIR");
    }

    /** Paragraphs (split at blank lines) of the source text, cycled until they add up to CORPUS_BYTES of UTF-8. */
    static List<String> corpus() {
        List<String> source = new ArrayList<>();
        String file = System.getProperty("jformers.bench.text");
        try {
            if (file != null) {
                source.addAll(paragraphs(Files.readString(Path.of(file))));
            } else {
                List<Path> files = new ArrayList<>();
                for (Path dir : new Path[] {Path.of("/usr/share/common-licenses"), vocabDir().getParent().getParent().resolve("docs")}) {
                    if (Files.isDirectory(dir)) {
                        try (Stream<Path> s = Files.list(dir)) {
                            s.filter(Files::isRegularFile).sorted().forEach(files::add);
                        }
                    }
                }
                for (Path f : files) {
                    try {
                        source.addAll(paragraphs(Files.readString(f)));
                    } catch (java.nio.charset.MalformedInputException e) {
                        // not UTF-8 text: skip
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (source.isEmpty()) {
            throw new IllegalStateException("no text found; pass -Djformers.bench.text=FILE");
        }
        List<String> out = new ArrayList<>();
        long total = 0;
        for (int i = 0; total < CORPUS_BYTES; i++) {
            String p = source.get(i % source.size());
            out.add(p);
            total += p.getBytes(StandardCharsets.UTF_8).length;
        }
        return out;
    }

    private static List<String> paragraphs(String text) {
        List<String> out = new ArrayList<>();
        for (String p : text.split("\\n\\s*\\n")) {
            String s = p.strip();
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        return out;
    }
}
