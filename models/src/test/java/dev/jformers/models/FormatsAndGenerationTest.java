package dev.jformers.models;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.Tensor;
import dev.jformers.models.generation.GenerationConfig;
import dev.jformers.models.generation.Generator;
import dev.jformers.models.gpt2.GPT2LMHeadModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Other on-disk layouts (testdata/formats) and GPT-2 greedy generation against Hugging Face. */
class FormatsAndGenerationTest {
    static Backend backend;

    @BeforeAll
    static void backend() {
        backend = Backends.create(null, 2);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    /** Each variant folder loads through the Auto class and gives HF's outputs (for fp16/bf16: of the rounded weights). */
    @ParameterizedTest(name = "{0}/{1}")
    @CsvSource({
            "bert-masked_lm, legacy_bin", "bert-masked_lm, sharded_bin", "bert-masked_lm, sharded_safetensors",
            "bert-masked_lm, float16", "bert-masked_lm, bfloat16",
            "gpt2-lm_head, legacy_bin", "gpt2-lm_head, sharded_bin", "gpt2-lm_head, sharded_safetensors",
            "gpt2-lm_head, float16", "gpt2-lm_head, bfloat16"})
    void variantMatchesHuggingFace(String model, String variant) {
        Path dir = Golden.testdata().resolve("formats").resolve(model).resolve(variant);
        boolean half = variant.endsWith("16");
        JsonNode expected = half ? Golden.read(dir.resolve("expected.json"))
                : Golden.read(Golden.golden().resolve(model.replace('-', '/')).resolve("golden.json"));
        PreTrainedModel m = model.startsWith("gpt2") ? AutoModelForCausalLM.fromPretrained(dir, backend)
                : AutoModelForMaskedLM.fromPretrained(dir, backend);
        for (Golden.Case c : Golden.cases(expected)) {
            ModelOutput out = m.forward(c.modelInput(false, false));
            for (Map.Entry<String, Golden.Expected> e : c.outputs().entrySet()) {
                Golden.assertClose(model + "/" + variant + " " + c.name(), e.getKey(), e.getValue(), out.get(e.getKey()),
                        c.mask(), 1e-4);
            }
        }
    }

    private static GPT2LMHeadModel gpt2() {
        return (GPT2LMHeadModel) AutoModelForCausalLM.fromPretrained(Golden.golden().resolve("gpt2/lm_head"), backend);
    }

    @Test
    void greedyGenerationMatchesHuggingFace() {
        JsonNode gen = Golden.read(Golden.golden().resolve("gpt2/lm_head/golden.json")).get("generation");
        GPT2LMHeadModel model = gpt2();
        Generator generator = new Generator(model);
        int maxNew = gen.get("settings").get("max_new_tokens").asInt();
        int eos = gen.get("settings").get("eos_token_id").asInt();
        for (JsonNode p : gen.get("single_prompts")) {
            long[] prompt = Golden.longs(p.get("prompt_ids"));
            List<Long> streamed = new ArrayList<>();
            long[] out = generator.generate(prompt, GenerationConfig.greedy(maxNew, eos), (step, t) -> streamed.add(t[0]));
            assertArrayEquals(Golden.longs(p.get("output_ids")), out);
            assertEquals(p.get("new_ids").size(), streamed.size());
            // the last position's logits of a full forward over the final sequence
            ModelOutput full = model.forward(ModelInput.of(new long[][] {out}));
            Tensor last = full.logits().select(0, 0).select(0, out.length - 1);
            JsonNode ref = p.get("final_sequence_last_position_logits");
            Golden.assertClose("final logits", "logits", new Golden.Expected(Golden.shape(ref), Golden.floats(ref.get("data"))),
                    last.contiguous(), null, 1e-4);
        }
    }

    @Test
    void leftPaddedBatchGenerationMatchesHuggingFace() {
        JsonNode batch = Golden.read(Golden.golden().resolve("gpt2/lm_head/golden.json")).get("generation").get("left_padded_batch");
        Tensor ids = Golden.longTensor(batch.get("input_ids"));
        Tensor mask = Golden.longTensor(batch.get("attention_mask"));
        Tensor expected = Golden.longTensor(batch.get("output_ids"));
        long[][] out = new Generator(gpt2()).generate(Tensors.rows(ids), Tensors.rows(mask), GenerationConfig.greedy(10, 999), null);
        assertArrayEquals(Tensors.rows(expected), out);
    }

    @Test
    void samplingIsReproducibleWithASeed() {
        Generator g = new Generator(gpt2());
        long[] prompt = {829, 162, 248};
        GenerationConfig cfg = GenerationConfig.sampling(12, null, 42L).withSampling(0.8, 20, 0.9, 42L);
        assertArrayEquals(g.generate(prompt, cfg, null), g.generate(prompt, cfg, null));
        assertEquals(15, g.generate(prompt, cfg, null).length);
    }
}
