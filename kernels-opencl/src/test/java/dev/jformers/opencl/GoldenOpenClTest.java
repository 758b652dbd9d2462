package dev.jformers.opencl;

import dev.jformers.models.Golden;
import dev.jformers.models.Tensors;
import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.core.Tensor;
import dev.jformers.loaders.Checkpoints;
import dev.jformers.loaders.WeightSource;
import dev.jformers.models.AutoConfig;
import dev.jformers.models.AutoModelForCausalLM;
import dev.jformers.models.AutoModels;
import dev.jformers.models.CausalLM;
import dev.jformers.models.ModelInput;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.models.generation.GenerationConfig;
import dev.jformers.models.generation.Generator;
import dev.jformers.models.generation.GoldenGeneration;
import dev.jformers.models.gpt2.GPT2LMHeadModel;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every tiny model of testdata/golden on the OpenCL backend, with hidden states and attentions:
 * outputs equal to Hugging Face's within 1e-4 (positions with attention mask 1); and GPT-2
 * greedy generation with the KV cache in device memory.
 */
class GoldenOpenClTest {
    static final double TOL = 1e-4;
    static OpenClBackend backend;

    /** Per test, so that every test shows as skipped (with the reason) where OpenCL is missing. */
    @BeforeEach
    void backend() {
        backend = SharedOpenCl.backend();
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String dir : Golden.modelDirs()) {
            out.add(Arguments.of(dir, "model.safetensors"));
        }
        // the .bin loader feeds the same weights; one architecture of each kind is enough here
        for (String dir : List.of("bert/base", "gpt2/lm_head", "distilbert/base", "roberta/masked_lm")) {
            out.add(Arguments.of(dir, "pytorch_model.bin"));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matchesHuggingFace(String dir, String file) {
        Path folder = Golden.golden().resolve(dir);
        JsonNode golden = Golden.read(folder.resolve("golden.json"));
        String modelClass = golden.get("model_class").asText();
        try (WeightSource source = Checkpoints.open(folder.resolve(file))) {
            PreTrainedModel model = AutoModels.load(modelClass, AutoConfig.fromPretrained(folder), source, backend);
            assertEquals(modelClass, model.modelClass());
            for (Golden.Case c : Golden.cases(golden)) {
                boolean hidden = c.outputs().containsKey("hidden_states");
                boolean attentions = c.outputs().containsKey("attentions");
                ModelOutput out = model.forward(c.modelInput(hidden, attentions));
                for (Map.Entry<String, Golden.Expected> e : c.outputs().entrySet()) {
                    Tensor actual = out.get(e.getKey());
                    Golden.assertClose(dir + "/" + file + " [opencl] " + c.name(), e.getKey(), e.getValue(),
                            backend.toHost(actual), c.mask(), TOL);
                }
            }
        }
    }

    static GPT2LMHeadModel gpt2() {
        Path folder = Golden.golden().resolve("gpt2/lm_head");
        try (WeightSource source = Checkpoints.open(folder.resolve("model.safetensors"))) {
            return (GPT2LMHeadModel) AutoModels.load("GPT2LMHeadModel", AutoConfig.fromPretrained(folder), source, backend);
        }
    }

    @Test
    void greedyGenerationWithTheKvCacheOnTheDevice() {
        JsonNode gen = Golden.read(Golden.golden().resolve("gpt2/lm_head/golden.json")).get("generation");
        GPT2LMHeadModel model = gpt2();
        Generator generator = new Generator(model);
        int maxNew = gen.get("settings").get("max_new_tokens").asInt();
        int eos = gen.get("settings").get("eos_token_id").asInt();
        int prompts = 0;
        for (JsonNode p : gen.get("single_prompts")) {
            long[] prompt = Golden.longs(p.get("prompt_ids"));
            long[] out = generator.generate(prompt, GenerationConfig.greedy(maxNew, eos), null);
            assertArrayEquals(Golden.longs(p.get("output_ids")), out, "prompt " + prompts);
            ModelOutput full = model.forward(ModelInput.of(new long[][] {out}));
            Tensor last = full.logits().select(0, 0).select(0, out.length - 1);
            JsonNode ref = p.get("final_sequence_last_position_logits");
            Golden.assertClose("final logits", "logits", new Golden.Expected(Golden.shape(ref), Golden.floats(ref.get("data"))),
                    last.contiguous(), null, TOL);
            prompts++;
        }
        assertEquals(gen.get("single_prompts").size(), prompts);
    }

    @Test
    void leftPaddedBatchGeneration() {
        JsonNode gen = Golden.read(Golden.golden().resolve("gpt2/lm_head/golden.json")).get("generation");
        JsonNode batch = gen.get("left_padded_batch");
        int maxNew = gen.get("settings").get("max_new_tokens").asInt();
        int eos = gen.get("settings").get("eos_token_id").asInt();
        Tensor ids = Golden.longTensor(batch.get("input_ids"));
        Tensor mask = Golden.longTensor(batch.get("attention_mask"));
        Tensor expected = Golden.longTensor(batch.get("output_ids"));
        long[][] out = new Generator(gpt2()).generate(Tensors.rows(ids), Tensors.rows(mask), GenerationConfig.greedy(maxNew, eos), null);
        assertArrayEquals(Tensors.rows(expected), out);
    }

    /**
     * Beam search (the KV cache gathered by beam index on the device) and the BERT / RoBERTa decoders with their own
     * cache: a few cases of testdata/golden-generation, token ids exactly, sequences_scores within 1e-4.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"greedy_eos_list", "beam_lp1.0_esFalse", "beam_lp2.0_esnever",
            "bert-causal-lm_greedy", "bert-causal-lm_beam", "roberta-causal-lm_greedy", "roberta-causal-lm_beam"})
    void goldenGenerateCases(String name) {
        JsonNode c = null;
        for (JsonNode x : GoldenGeneration.golden().get("cases")) {
            if (x.get("name").asText().equals(name)) {
                c = x;
            }
        }
        Path dir = GoldenGeneration.dir().resolve(c.get("model").asText());
        CausalLM model = (CausalLM) AutoModelForCausalLM.fromPretrained(dir, backend);
        GenerationConfig config = GenerationConfig.fromPretrained(dir).update(c.get("generate_kwargs"));
        Generator.Output out = new Generator(model).generateOutput(GoldenGeneration.rows(c.get("inputs").get("input_ids")),
                GoldenGeneration.rows(c.get("inputs").get("attention_mask")), config, null);
        assertArrayEquals(GoldenGeneration.rows(c.get("outputs").get("sequences")), out.sequences(), name);
        JsonNode scores = c.get("outputs").get("sequences_scores");
        if (scores != null) {
            float[] want = GoldenGeneration.floats(scores);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], out.sequencesScores()[i], 1e-4, name + " sequences_scores[" + i + "]");
            }
        }
    }
}
