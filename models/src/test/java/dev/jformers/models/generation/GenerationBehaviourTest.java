package dev.jformers.models.generation;

import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.models.AutoModelForCausalLM;
import dev.jformers.models.CausalLM;
import dev.jformers.tokenizers.AutoTokenizer;
import dev.jformers.tokenizers.EncodeOptions;
import dev.jformers.tokenizers.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the golden cases cannot pin down: seeded sampling, beam sampling, max_time, the text streamer. */
class GenerationBehaviourTest {
    static Backend backend;
    static Generator generator;
    static final long[][] PROMPTS = {{366, 986, 295, 921}, {979, 629, 770, 338}};

    @BeforeAll
    static void load() {
        backend = Backends.create("cpu", 2);
        generator = new Generator((CausalLM) AutoModelForCausalLM.fromPretrained(GoldenGeneration.dir().resolve("tiny-gpt2"), backend));
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    /** Plain greedy reads the argmax where the logits are: the first of equal scores wins, as torch.argmax, within each row. */
    @Test
    void argmaxTakesTheFirstOfEqualScoresWithinItsRow() {
        float[] rows = {9f, 1f, 3f, 3f, 2f, 7f, 7f, 0f};
        assertEquals(1, Generator.argmax(rows, 1, 4));   // 1, 3, 3, 2: the first 3
        assertEquals(1, Generator.argmax(rows, 4, 4));   // 2, 7, 7, 0
        assertEquals(0, Generator.argmax(rows));
        assertEquals(0, Generator.argmax(new float[] {Float.NaN, 5f}));   // the old copy-then-argmax kept a leading NaN too
    }

    /** The greedy path without processors (argmax in place) and with one that changes nothing give the same tokens. */
    @Test
    void greedyInPlaceEqualsGreedyThroughTheProcessors() {
        GenerationConfig plain = GenerationConfig.greedy(8, null);
        GenerationConfig processed = plain.with("suppress_tokens", List.of());   // a processor that suppresses nothing
        assertTrue(Arrays.deepEquals(generator.generate(PROMPTS, null, plain, null), generator.generate(PROMPTS, null, processed, null)));
    }

    /**
     * Each generation hands its KV cache back to the backend, and the next one's cache reuses that memory with the old
     * keys and values still in it: only filled positions are read, so greedy and beam search repeat themselves, and
     * a longer generation after a shorter one (another capacity) matches a fresh backend's.
     */
    @Test
    void aGenerationInARecycledCacheGivesAFreshCachesTokens() {
        GenerationConfig greedy = GenerationConfig.greedy(8, null), beams = GenerationConfig.greedy(6, null).with("num_beams", 3);
        long[][] first = generator.generate(PROMPTS, null, greedy, null);
        long[][] beam = generator.generate(PROMPTS, null, beams, null);
        assertTrue(Arrays.deepEquals(first, generator.generate(PROMPTS, null, greedy, null)));
        assertTrue(Arrays.deepEquals(beam, generator.generate(PROMPTS, null, beams, null)));
        GenerationConfig longer = GenerationConfig.greedy(12, null);
        long[][] recycled = generator.generate(PROMPTS, null, longer, null);
        try (Backend fresh = Backends.create("cpu", 2)) {
            Generator g = new Generator((CausalLM) AutoModelForCausalLM.fromPretrained(GoldenGeneration.dir().resolve("tiny-gpt2"), fresh));
            assertTrue(Arrays.deepEquals(g.generate(PROMPTS, null, longer, null), recycled));
        }
    }

    @Test
    void samplingWithASeedRepeatsAndReturnsNumReturnSequencesRows() {
        GenerationConfig c = GenerationConfig.sampling(6, null, 7L).with("num_return_sequences", 3).with("top_k", 0);
        long[][] a = generator.generate(PROMPTS, null, c, null);
        long[][] b = generator.generate(PROMPTS, null, c, null);
        assertEquals(6, a.length);
        assertEquals(4 + 6, a[0].length);
        assertTrue(Arrays.deepEquals(a, b));
        for (int r = 0; r < a.length; r++) {   // row r continues prompt r / 3 (HF's repeat_interleave)
            assertArrayEquals(PROMPTS[r / 3], Arrays.copyOf(a[r], 4));
        }
    }

    @Test
    void beamSamplingKeepsOneHypothesisPerRepeatedPrompt() {
        GenerationConfig c = GenerationConfig.sampling(5, 999, 3L).with("num_beams", 3).with("num_return_sequences", 2);
        Generator.Output a = generator.generateOutput(PROMPTS, null, c, null);
        Generator.Output b = generator.generateOutput(PROMPTS, null, c, null);
        assertEquals(4, a.sequences().length);
        assertEquals(4, a.sequencesScores().length);
        assertTrue(Arrays.deepEquals(a.sequences(), b.sequences()));
        assertArrayEquals(a.sequencesScores(), b.sequencesScores());
        for (float s : a.sequencesScores()) {
            assertTrue(s < 0 && Float.isFinite(s), "a log-probability per token: " + s);
        }
    }

    @Test
    void maxTimeZeroStopsAfterTheFirstToken() {
        GenerationConfig c = GenerationConfig.greedy(10, null).with("max_time", 0.0);
        assertEquals(5, generator.generate(PROMPTS, null, c, null)[0].length);
    }

    @Test
    void refusalsAsHuggingFaceRaises() {
        assertThrows(GenerationException.class,
                () -> generator.generate(PROMPTS, null, GenerationConfig.greedy(3, null).with("num_return_sequences", 2), null));
        assertThrows(GenerationException.class, () -> generator.generate(PROMPTS, null,
                GenerationConfig.greedy(3, null).with("num_beams", 2).with("num_return_sequences", 3), null));
    }

    /** HF's TextStreamer: whole words, never a broken character, and the pieces add up to the decoded text. */
    @Test
    void streamerHandsOnWholeWordsOfValidText() {
        Tokenizer tok = AutoTokenizer.fromPretrained(GoldenGeneration.dir().resolve("tiny-gpt2"));
        String text = "Hello wörld 😀 and 日本語 text\nnext line end";
        int[] ids = tok.encode(text, EncodeOptions.defaults().withAddSpecialTokens(false)).ids();
        List<String> pieces = new ArrayList<>();
        TextStreamer streamer = new TextStreamer(tok, true, pieces::add);
        for (int i = 0; i < ids.length; i++) {
            streamer.onStep(i, new long[] {ids[i]});
        }
        int beforeEnd = pieces.size();
        streamer.end();
        assertEquals(tok.decode(ids, true, true), String.join("", pieces));
        for (int i = 0; i < pieces.size(); i++) {
            String p = pieces.get(i);
            assertFalse(p.contains("\uFFFD"), p);
            if (i < beforeEnd) {
                int last = p.codePointBefore(p.length());
                assertTrue(p.endsWith(" ") || p.endsWith("\n") || TextStreamer.isCjk(last), "'" + p + "'");
            }
        }
        assertTrue(pieces.size() > 3, pieces.toString());
    }
}
