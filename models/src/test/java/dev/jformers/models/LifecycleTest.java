package dev.jformers.models;

import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.pipelines.FillMaskPipeline;
import dev.jformers.pipelines.Pipelines;
import dev.jformers.tokenizers.AutoTokenizer;
import dev.jformers.tokenizers.Tokenizer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Models, pipelines and tokenizers are closeable: the weight files are unmapped once a model is built, a
 * backend created for a model closes with it (its worker threads end), and a backend passed in stays open.
 */
class LifecycleTest {
    static final Path FILL_MASK = Golden.golden().resolve("pipelines").resolve("fill-mask-bert");

    /** Live worker threads of the CPU backends. */
    static long workerThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("jformers-cpu-")).count();
    }

    /** Waits until at most {@code expected} workers live (threads of backends closed by earlier tests may still be
     *  ending, so the count can also fall below the baseline); returns the count then. */
    static long awaitWorkers(long expected) throws InterruptedException {
        for (int i = 0; i < 200 && workerThreads() > expected; i++) {
            Thread.sleep(10);
        }
        return workerThreads();
    }

    static ModelInput input() {
        return ModelInput.of(new long[][] {{2, 7, 9, 4, 3}});
    }

    @Test
    void theWeightFilesAreUnmappedOnceTheModelIsBuilt() throws IOException {
        Path weights = FILL_MASK.resolve("model.safetensors").toRealPath();
        try (PreTrainedModel m = AutoModelForMaskedLM.fromPretrained(FILL_MASK.toString())) {
            assertNotNull(m.forward(input()).logits());
            assertFalse(Files.readString(Path.of("/proc/self/maps")).contains(weights.toString()),
                    "the model keeps " + weights + " mapped");
        }
    }

    @Test
    void aBackendCreatedForAModelClosesWithIt() throws InterruptedException {
        long before = workerThreads();
        for (int i = 0; i < 5; i++) {
            try (PreTrainedModel m = AutoModelForMaskedLM.fromPretrained(FILL_MASK)) {
                float[] a = m.forward(input()).logits().toFloatArray();
                assertTrue(a.length > 0);
            }
        }
        assertTrue(awaitWorkers(before) <= before, "worker threads left behind by closed models");
    }

    @Test
    void aBackendPassedInStaysOpenAfterTheModelCloses() {
        try (Backend backend = Backends.create(null, 2)) {
            float[] first;
            try (PreTrainedModel m = AutoModelForMaskedLM.fromPretrained(FILL_MASK, backend)) {
                first = m.forward(input()).logits().toFloatArray();
            }
            try (PreTrainedModel m = AutoModelForMaskedLM.fromPretrained(FILL_MASK.toString(), backend)) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(first, m.forward(input()).logits().toFloatArray());
            }
        }
    }

    @Test
    void pipelinesAndTokenizersClose() throws InterruptedException {
        long before = workerThreads();
        try (FillMaskPipeline p = Pipelines.fillMask(FILL_MASK.toString());
             Tokenizer t = AutoTokenizer.fromPretrained(FILL_MASK.toString())) {
            assertEquals(p.tokenizer().encode("hello").length(), t.encode("hello").length());
            p.model().forward(input());
        }
        assertTrue(awaitWorkers(before) <= before, "worker threads left behind by a closed pipeline");
    }

    @Test
    void closingTwiceIsHarmless() {
        PreTrainedModel m = AutoModel.fromPretrained(FILL_MASK);
        m.close();
        m.close();
    }

    @Test
    void aVocabularyThatIsNotUtf8SaysSo(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        Path vocab = tmp.resolve("vocab.txt");
        Files.write(vocab, "[PAD]\n[UNK]\ncaf\u00e9\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.jformers.tokenizers.TokenizerException.class,
                () -> AutoTokenizer.bertFromVocab(vocab, true));
        assertTrue(e.getMessage().contains("is not UTF-8"), e.getMessage());
    }
}
