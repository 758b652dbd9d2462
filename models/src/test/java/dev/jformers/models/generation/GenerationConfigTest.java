package dev.jformers.models.generation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.Activation;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;
import dev.jformers.models.KVCache;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GenerationConfig: HF's fields, precedence and refusals; gelu_fast / gelu_python; the KV cache's reorder. */
class GenerationConfigTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode json(String s) throws Exception {
        return JSON.readTree(s);
    }

    @Test
    void eosListIsKeptAsAList() throws Exception {
        GenerationConfig c = GenerationConfig.fromJson(json("{\"eos_token_id\": [50256, 198]}"), "generation_config.json");
        assertArrayEquals(new int[] {50256, 198}, c.eosTokenIds());
        assertArrayEquals(new int[] {7}, GenerationConfig.defaults().update("eos_token_id", "7").eosTokenIds());
        assertArrayEquals(new int[] {1, 2}, GenerationConfig.defaults().update("eos_token_id", "1,2").eosTokenIds());
    }

    @Test
    void unimplementedFieldsWithNonDefaultValuesAreRefusedByName() throws Exception {
        for (String field : GenerationConfig.UNIMPLEMENTED.keySet()) {
            JsonNode dflt = GenerationConfig.defaults().get(field);
            // the default is accepted (generation_config.json files list every field)
            GenerationConfig.fromJson(JSON.createObjectNode().set(field, dflt), "generation_config.json");
            JsonNode other = dflt.isBoolean() ? JSON.getNodeFactory().booleanNode(!dflt.asBoolean())
                    : dflt.isNull() ? json("[[1, 2]]") : JSON.getNodeFactory().numberNode(dflt.asInt() + 2);
            JformersException e = assertThrows(JformersException.class,
                    () -> GenerationConfig.fromJson(JSON.createObjectNode().set(field, other), "generation_config.json"));
            assertTrue(e.getMessage().contains(field) && e.getMessage().contains("generation_config.json"), e.getMessage());
        }
    }

    @Test
    void unknownKeysOfAFileAreSkippedButUnknownArgumentsRefused() throws Exception {
        GenerationConfig c = GenerationConfig.fromJson(json("{\"transformers_version\": \"4.28.1\", \"_from_model_config\": true}"), "f");
        assertEquals(GenerationConfig.defaults(), c);
        assertThrows(JformersException.class, () -> GenerationConfig.defaults().update(json("{\"num_beam\": 4}")));
        assertThrows(JformersException.class, () -> GenerationConfig.defaults().update("num_beams", "four"));
        assertThrows(JformersException.class, () -> GenerationConfig.defaults().update(json("{\"num_beams\": \"4\"}")));
    }

    @Test
    void cliTextForms() {
        GenerationConfig c = GenerationConfig.defaults().update("early_stopping", "never").update("do_sample", "true")
                .update("bad_words_ids", "[[13], [17, 99]]").update("max_time", "1.5").update("length_penalty", "0.5");
        assertEquals(GenerationConfig.EarlyStopping.NEVER, c.earlyStopping());
        assertTrue(c.doSample());
        assertArrayEquals(new int[][] {{13}, {17, 99}}, c.badWordsIds());
        assertEquals(1.5, c.maxTime());
        assertEquals(0.5, c.lengthPenalty());
        assertNull(GenerationConfig.defaults().update("max_new_tokens", "null").maxNewTokens());
    }

    /** HF's order: generation_config.json (unless _from_model_config), else config.json; task params only then. */
    @Test
    void precedenceOfFilesAndTaskParameters(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\", \"max_length\": 16, \"no_repeat_ngram_size\": 2,"
                + " \"task_specific_params\": {\"text-generation\": {\"max_length\": 13, \"repetition_penalty\": 1.3}}}");
        GenerationConfig plain = GenerationConfig.fromPretrained(dir);
        assertEquals(16, plain.maxLength());
        assertEquals(2, plain.noRepeatNgramSize());
        assertEquals(1.0, plain.repetitionPenalty());
        GenerationConfig pipe = GenerationConfig.forPipeline(dir, "text-generation");
        assertEquals(13, pipe.maxLength());
        assertEquals(1.3, pipe.repetitionPenalty());
        assertEquals(2, pipe.noRepeatNgramSize());
        Files.writeString(dir.resolve("generation_config.json"), "{\"_from_model_config\": true, \"max_length\": 16}");
        assertEquals(13, GenerationConfig.forPipeline(dir, "text-generation").maxLength());
        Files.writeString(dir.resolve("generation_config.json"), "{\"max_new_tokens\": 5}");
        GenerationConfig file = GenerationConfig.forPipeline(dir, "text-generation");
        assertEquals(20, file.maxLength());
        assertEquals(5, file.maxNewTokens());
        assertEquals(0, file.noRepeatNgramSize());
        ObjectNode kwargs = JSON.createObjectNode().put("max_new_tokens", 3);
        assertEquals(3, file.update(kwargs).maxNewTokens());
    }

    @Test
    void geluFastAndGeluPythonAreTheFormulasTheKernelsHave() {
        assertEquals(Activation.GELU_TANH, Activation.fromHuggingFace("gelu_fast"));
        assertEquals(Activation.GELU, Activation.fromHuggingFace("gelu_python"));
        float[] x = new float[201];
        for (int i = 0; i < x.length; i++) {
            x[i] = (i - 100) * 0.07f;
        }
        for (String name : new String[] {"scalar", "cpu"}) {
            try (Backend b = Backends.create(name)) {
                float[] fast = b.activation(b.upload(Tensor.of(x, x.length)), Activation.fromHuggingFace("gelu_fast")).toFloatArray();
                float[] python = b.activation(b.upload(Tensor.of(x, x.length)), Activation.fromHuggingFace("gelu_python")).toFloatArray();
                for (int i = 0; i < x.length; i++) {
                    double v = x[i];
                    // HF's gelu_fast: 0.5·x·(1 + tanh(x·0.7978845608·(1 + 0.044715·x²)))
                    double wantFast = 0.5 * v * (1 + Math.tanh(v * 0.7978845608 * (1 + 0.044715 * v * v)));
                    // HF's gelu_python: x·0.5·(1 + erf(x/√2))
                    double wantPython = v * 0.5 * (1 + dev.jformers.core.MathFunctions.erf(v / Math.sqrt(2)));
                    assertEquals(wantFast, fast[i], 2e-6 * Math.max(1, Math.abs(wantFast)), name + " gelu_fast(" + v + ")");
                    assertEquals(wantPython, python[i], 2e-6 * Math.max(1, Math.abs(wantPython)), name + " gelu_python(" + v + ")");
                }
            }
        }
    }

    /** Row i after reorder holds what row source[i] held, for cycles, duplicates and rows left in place. */
    @Test
    void aReleasedKvCacheRefusesUseAndIsReleasedOnce() {
        try (Backend b = Backends.create("cpu", 1)) {
            KVCache cache = new KVCache(b, 2, 1, 3, 4);
            Tensor kv = b.upload(Tensor.of(new float[3], 1, 1, 3));
            cache.append(0, kv, kv);
            cache.release();
            cache.release();   // a second release hands nothing back again
            assertThrows(IllegalStateException.class, () -> cache.append(1, kv, kv));
            assertThrows(IllegalStateException.class, () -> cache.reorder(new int[] {0}));
            // its two buffers went back once: two new caches of its size do not share an array (c's keys stay out of a's)
            KVCache a = new KVCache(b, 2, 1, 3, 4), c = new KVCache(b, 2, 1, 3, 4);
            for (int layer = 0; layer < 2; layer++) {
                a.append(layer, kv, kv);
            }
            a.advance(1);
            Tensor ones = b.upload(Tensor.of(new float[] {1, 1, 1}, 1, 1, 3));
            for (int layer = 0; layer < 2; layer++) {
                c.append(layer, ones, ones);
            }
            for (int layer = 0; layer < 2; layer++) {
                Tensor[] past = a.append(layer, kv, kv);
                assertArrayEquals(new float[3], past[0].narrow(1, 0, 1).toFloatArray(), "keys of layer " + layer);
                assertArrayEquals(new float[3], past[1].narrow(1, 0, 1).toFloatArray(), "values of layer " + layer);
            }
        }
    }

    @Test
    void kvCacheReorderGathersRowsByIndex() {
        try (Backend b = Backends.create("cpu", 2)) {
            int rows = 4, width = 3, length = 2;
            KVCache cache = new KVCache(b, 1, rows, width, 5);
            float[] data = new float[rows * length * width];
            for (int i = 0; i < data.length; i++) {
                data[i] = i;
            }
            Tensor kv = b.upload(Tensor.of(data, rows, length, width));
            cache.append(0, kv, kv);
            cache.advance(length);
            int[] source = {2, 0, 2, 3};   // 0 ← 2, 1 ← 0 (overwritten itself), 2 stays, 3 stays
            cache.reorder(source);
            Tensor[] all = cache.append(0, b.upload(Tensor.of(new float[rows * width], rows, 1, width)),
                    b.upload(Tensor.of(new float[rows * width], rows, 1, width)));
            float[] keys = all[0].contiguous().toFloatArray();
            for (int r = 0; r < rows; r++) {
                for (int t = 0; t < length; t++) {
                    for (int c = 0; c < width; c++) {
                        assertEquals(data[(source[r] * length + t) * width + c], keys[(r * (length + 1) + t) * width + c],
                                "row " + r + " t " + t);
                    }
                }
            }
        }
    }
}
