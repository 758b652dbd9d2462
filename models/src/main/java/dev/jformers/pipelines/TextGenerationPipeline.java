package dev.jformers.pipelines;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.Backend;
import dev.jformers.core.ModelFolder;
import dev.jformers.models.CommonConfig;
import dev.jformers.models.generation.GenerationConfig;
import dev.jformers.models.generation.Generator;
import dev.jformers.models.gpt2.GPT2LMHeadModel;
import dev.jformers.tokenizers.EncodeOptions;
import dev.jformers.tokenizers.Tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * HF's {@code TextGenerationPipeline} for GPT-2: continues a prompt (greedy or sampling) and returns the text.
 *
 * <p>Defaults come, as in HF, from {@code generation_config.json} (or config.json), then from config.json's
 * {@code task_specific_params["text-generation"]} (the real gpt2 asks for sampling and max_length 50 there), then
 * from the options. Sampling uses jformers' own random generator: a seed makes runs repeatable, but sampled texts
 * differ from PyTorch's; greedy texts are HF's.
 */
public final class TextGenerationPipeline extends Pipeline {

    /**
     * HF's keyword arguments; null fields take the model's generation defaults.
     *
     * @param maxNewTokens   tokens to generate (null: max_length − prompt length, max_length 20 unless configured)
     * @param returnFullText prompt + continuation (HF's default) or the continuation alone
     * @param returnTensors  return {@code generated_token_ids} instead of text
     */
    public record Options(Integer maxNewTokens, Boolean doSample, Double temperature, Integer topK, Double topP,
                          Long seed, Double repetitionPenalty, boolean returnFullText, boolean returnTensors) {
        public static Options defaults() {
            return new Options(null, null, null, null, null, null, null, true, false);
        }

        public Options withMaxNewTokens(Integer v) {
            return new Options(v, doSample, temperature, topK, topP, seed, repetitionPenalty, returnFullText, returnTensors);
        }

        public Options withDoSample(Boolean v) {
            return new Options(maxNewTokens, v, temperature, topK, topP, seed, repetitionPenalty, returnFullText, returnTensors);
        }

        public Options withTemperature(Double v) {
            return new Options(maxNewTokens, doSample, v, topK, topP, seed, repetitionPenalty, returnFullText, returnTensors);
        }

        public Options withTopK(Integer v) {
            return new Options(maxNewTokens, doSample, temperature, v, topP, seed, repetitionPenalty, returnFullText, returnTensors);
        }

        public Options withTopP(Double v) {
            return new Options(maxNewTokens, doSample, temperature, topK, v, seed, repetitionPenalty, returnFullText, returnTensors);
        }

        public Options withSeed(Long v) {
            return new Options(maxNewTokens, doSample, temperature, topK, topP, v, repetitionPenalty, returnFullText, returnTensors);
        }

        public Options withRepetitionPenalty(Double v) {
            return new Options(maxNewTokens, doSample, temperature, topK, topP, seed, v, returnFullText, returnTensors);
        }

        public Options withReturnFullText(boolean v) {
            return new Options(maxNewTokens, doSample, temperature, topK, topP, seed, repetitionPenalty, v, returnTensors);
        }

        public Options withReturnTensors(boolean v) {
            return new Options(maxNewTokens, doSample, temperature, topK, topP, seed, repetitionPenalty, returnFullText, v);
        }
    }

    /** HF's {@code {generated_text}} or, with return_tensors, {@code {generated_token_ids}}. */
    public sealed interface Generated permits GeneratedText, GeneratedTokenIds {
    }

    public record GeneratedText(@JsonProperty("generated_text") String generatedText) implements Generated {
    }

    public record GeneratedTokenIds(@JsonProperty("generated_token_ids") long[] generatedTokenIds) implements Generated {
    }

    private final GPT2LMHeadModel gpt2;
    /** The model's generation defaults (generation_config.json, then task_specific_params). */
    private final ObjectNode defaults;

    TextGenerationPipeline(Path dir, GPT2LMHeadModel model, Tokenizer tokenizer, Backend owned) {
        super("text-generation", dir, model, tokenizer, owned);
        this.gpt2 = model;
        this.defaults = generationDefaults(dir);
    }

    private static ObjectNode generationDefaults(Path dir) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode d = JsonNodeFactory.instance.objectNode();
        try {
            JsonNode config = json.readTree(dir.resolve("config.json").toFile());
            Path gen = ModelFolder.require(dir, dir.resolve("generation_config.json"));
            merge(d, Files.isRegularFile(gen) ? json.readTree(gen.toFile()) : config);
            merge(d, config.path("task_specific_params").path("text-generation"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return d;
    }

    private static void merge(ObjectNode into, JsonNode from) {
        for (Iterator<Map.Entry<String, JsonNode>> it = from.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            into.set(e.getKey(), e.getValue());
        }
    }

    /** The generation settings for a prompt of {@code promptLength} tokens. */
    GenerationConfig generationConfig(Options o, int promptLength) {
        CommonConfig c = model().config().common();
        Integer eos = defaults.hasNonNull("eos_token_id") ? Integer.valueOf(defaults.get("eos_token_id").asInt()) : c.eosTokenId();
        Integer pad = defaults.hasNonNull("pad_token_id") ? Integer.valueOf(defaults.get("pad_token_id").asInt()) : c.padTokenId();
        int maxNew = o.maxNewTokens() != null ? o.maxNewTokens()
                : defaults.hasNonNull("max_new_tokens") ? defaults.get("max_new_tokens").asInt()
                : Math.max(0, defaults.path("max_length").asInt(20) - promptLength);
        boolean sample = o.doSample() != null ? o.doSample() : defaults.path("do_sample").asBoolean(false);
        double temperature = o.temperature() != null ? o.temperature() : defaults.path("temperature").asDouble(1.0);
        int topK = o.topK() != null ? o.topK() : defaults.path("top_k").asInt(50);
        double topP = o.topP() != null ? o.topP() : defaults.path("top_p").asDouble(1.0);
        double rep = o.repetitionPenalty() != null ? o.repetitionPenalty() : defaults.path("repetition_penalty").asDouble(1.0);
        // Like HF, sampling knobs without do_sample leave decoding greedy.
        return new GenerationConfig(maxNew, sample, temperature, topK, topP, rep, o.seed(), eos, pad);
    }

    /**
     * Generates from one prompt. {@code stream} (may be null) receives the new text piece by piece as tokens
     * come (whole characters only: a piece is held back while its bytes are incomplete).
     */
    public Generated generate(String prompt, Options o, Consumer<String> stream) {
        Tokenizer tok = tokenizer();
        int[] promptIds = tok.encode(prompt, EncodeOptions.defaults().withAddSpecialTokens(false)).ids();
        boolean emptyPrompt = promptIds.length == 0;
        if (emptyPrompt) {
            // HF generates from the bos token when the prompt is empty.
            Integer bos = model().config().common().bosTokenId();
            if (bos == null) {
                throw new PipelineException("the prompt is empty and the model has no bos_token_id to start from");
            }
            promptIds = new int[] {bos};
        }
        long[] promptTokens = toLongs(promptIds);
        GenerationConfig config = generationConfig(o, promptTokens.length);
        List<Long> generated = new ArrayList<>();
        int[] printed = {0};
        Generator.TokenListener listener = stream == null ? null : (step, tokens) -> {
            generated.add(tokens[0]);
            String text = tok.decode(toInts(generated), true);
            if (!text.endsWith("\uFFFD") && text.length() > printed[0]) {
                stream.accept(text.substring(printed[0]));
                printed[0] = text.length();
            }
        };
        long[] sequence = new Generator(gpt2).generate(promptTokens, config, listener);
        if (stream != null) {
            String text = tok.decode(toInts(generated), true);
            if (text.length() > printed[0]) {
                stream.accept(text.substring(printed[0]));
            }
        }
        if (o.returnTensors()) {
            return new GeneratedTokenIds(sequence);
        }
        // HF: decode everything, cut off as many characters as the decoded prompt has, and put the prompt
        // string itself back in front for full text.
        String all = tok.decode(toInts(sequence), true);
        String decodedPrompt = emptyPrompt ? "" : tok.decode(promptIds, true);
        int promptChars = decodedPrompt.codePointCount(0, decodedPrompt.length());
        String continuation = all.substring(all.offsetByCodePoints(0, Math.min(promptChars, all.codePointCount(0, all.length()))));
        return new GeneratedText(o.returnFullText() ? prompt + continuation : continuation);
    }

    /** HF's return value for one prompt: a list of one generated text. */
    public List<Generated> call(String prompt, Options o) {
        return List.of(generate(prompt, o, null));
    }

    /** HF's return value for a list of prompts: one list per prompt. */
    public List<List<Generated>> call(List<String> prompts, Options o) {
        List<List<Generated>> out = new ArrayList<>();
        for (String p : prompts) {
            out.add(call(p, o));
        }
        return out;
    }

    private static int[] toInts(List<Long> ids) {
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ids.get(i).intValue();
        }
        return out;
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }
}
