package dev.jformers.models;

import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;
import dev.jformers.loaders.SafetensorsWriter;
import dev.jformers.tokenizers.AutoTokenizer;
import dev.jformers.tokenizers.TokenizerException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 19, items 1 and 7: config values are checked before anything is allocated from them,
 * against bounds and against what the weights hold, and a model folder's files are read only
 * from inside it. Runs in the 256 MB-heap fork ("hostile"): any of these that still allocated
 * at the config's size would end in OutOfMemoryError.
 */
@Tag("hostile")
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class HostileConfigTest {
    static Backend backend;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        backend = Backends.create("scalar");
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    /** The tiny golden BERT with {@code field} set to {@code value} in its config.json. */
    private Path bertWith(String field, String value) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("bert"));
        Files.copy(Golden.golden().resolve("bert/base/model.safetensors"), dir.resolve("model.safetensors"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        String config = Files.readString(Golden.golden().resolve("bert/base/config.json"));
        Files.writeString(dir.resolve("config.json"), config.replaceFirst("\"" + field + "\": [^,\\n]+", "\"" + field + "\": " + value));
        return dir;
    }

    private static String oneLine(Exception e) {
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void zeroHeadsIsAConfigErrorNotADivisionByZero() throws IOException {
        Path dir = bertWith("num_attention_heads", "0");
        String m = oneLine(assertThrows(ConfigException.class, () -> AutoModel.fromPretrained(dir, backend)));
        assertTrue(m.contains("num_attention_heads is 0") || m.contains("not a multiple of num_attention_heads 0"), m);
        Path odd = bertWith("num_attention_heads", "5");
        assertTrue(oneLine(assertThrows(ConfigException.class, () -> AutoModel.fromPretrained(odd, backend)))
                .contains("hidden_size 32 is not a multiple of num_attention_heads 5"));
    }

    @Test
    void sizesOutOfAnyModelsRangeAreRefusedWhileParsing() throws IOException {
        for (String[] c : new String[][] {{"num_hidden_layers", "1000000"}, {"vocab_size", "1073741824"},
                {"hidden_size", "-1794967296"}, {"num_hidden_layers", "2.5"}, {"intermediate_size", "\"64\""}}) {
            Path dir = bertWith(c[0], c[1]);
            String m = oneLine(assertThrows(ConfigException.class, () -> AutoModel.fromPretrained(dir, backend)));
            assertTrue(m.contains(c[0] + " is ") && m.contains("expected a whole number in"), m);
        }
        Path labels = bertWith("num_hidden_layers", "2, \"num_labels\": 2000000000");
        String m = oneLine(assertThrows(ConfigException.class, () -> AutoModelForSequenceClassification.fromPretrained(labels, backend)));
        assertTrue(m.contains("num_labels is 2000000000"), m);
    }

    @Test
    void sizesBeyondWhatTheWeightsHoldAreRefusedBeforeBuilding() throws IOException {
        Path layers = bertWith("num_hidden_layers", "1024");
        String m = oneLine(assertThrows(ConfigException.class, () -> AutoModel.fromPretrained(layers, backend)));
        assertTrue(m.contains("num_hidden_layers is 1024") && m.contains("holds 2 layers"), m);
        Path vocab = bertWith("vocab_size", "16000000");
        m = oneLine(assertThrows(ShapeException.class, () -> AutoModel.fromPretrained(vocab, backend)));
        assertTrue(m.contains("word_embeddings.weight") && m.contains("[16000000, 32]"), m);
        Path positions = bertWith("max_position_embeddings", "1000000");
        assertTrue(oneLine(assertThrows(ShapeException.class, () -> AutoModel.fromPretrained(positions, backend)))
                .contains("position_embeddings.weight"));
    }

    @Test
    void missingWeightsAreReportedBeforeHugePlaceholdersExist() throws IOException {
        // Two layers' query weights and nothing else; the config asks for a 16M × 32 vocabulary
        // (2 GB of placeholder) that the file does not hold.
        Path dir = Files.createDirectories(tmp.resolve("partial"));
        SafetensorsWriter.write(Map.of(
                "encoder.layer.0.attention.self.query.weight", Tensor.zeros(dev.jformers.core.DType.F32, 32, 32),
                "encoder.layer.1.attention.self.query.weight", Tensor.zeros(dev.jformers.core.DType.F32, 32, 32)),
                Map.of(), dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("config.json"), Files.readString(Golden.golden().resolve("bert/base/config.json"))
                .replace("\"vocab_size\": 1000", "\"vocab_size\": 16000000"));
        MissingWeightsException e = assertThrows(MissingWeightsException.class, () -> AutoModel.fromPretrained(dir, backend));
        assertTrue(oneLine(e).contains("embeddings.word_embeddings.weight"), e.getMessage());
        // no layers at all: named before anything is built
        Files.writeString(dir.resolve("config.json"), Files.readString(Golden.golden().resolve("bert/base/config.json")));
        SafetensorsWriter.write(Map.of("pooler.dense.bias", Tensor.zeros(dev.jformers.core.DType.F32, 32)), Map.of(), dir.resolve("model.safetensors"));
        assertTrue(oneLine(assertThrows(MissingWeightsException.class, () -> AutoModel.fromPretrained(dir, backend))).contains("encoder.layer.0"));
    }

    @Test
    void aBertProcessingWithoutClsIsATokenizerError() throws IOException, java.net.URISyntaxException {
        Path f = Path.of(getClass().getResource("ParserFuzzTestInputs/tokenizerJson/bert-processing-without-cls").toURI());
        Path copy = Files.copy(f, tmp.resolve("tokenizer.json"));
        String m = oneLine(assertThrows(TokenizerException.class, () -> AutoTokenizer.fromTokenizerJson(copy)));
        assertTrue(m.contains("BertProcessing post_processor needs \"cls\""), m);
    }

    @Test
    void configAndTokenizerFilesLinkedOutOfTheFolderAreRefusedUnread() throws IOException {
        Path secret = tmp.resolve("etc").resolve("passwd");
        Files.createDirectories(secret.getParent());
        Files.writeString(secret, "root:x:0:0:SECRET-LINE\n");
        Path dir = bertWith("num_hidden_layers", "2");
        Files.delete(dir.resolve("config.json"));
        Files.createSymbolicLink(dir.resolve("config.json"), secret);
        String m = oneLine(assertThrows(ConfigException.class, () -> AutoModel.fromPretrained(dir, backend)));
        assertTrue(m.contains("leads outside the model folder") && !m.contains("SECRET") && !m.contains("root:x"), m);

        Path tok = Files.createDirectories(tmp.resolve("tok"));
        Files.writeString(tok.resolve("config.json"), "{\"model_type\": \"bert\"}");
        Files.createSymbolicLink(tok.resolve("vocab.txt"), secret);
        m = oneLine(assertThrows(TokenizerException.class, () -> AutoTokenizer.fromPretrained(tok)));
        assertTrue(m.contains("leads outside the model folder") && !m.contains("SECRET"), m);
    }
}
