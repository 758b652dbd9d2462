package dev.jformers.pipelines;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.models.CausalLM;
import dev.jformers.models.generation.GenerationConfig;
import dev.jformers.models.generation.Generator;
import dev.jformers.models.generation.TextStreamer;
import dev.jformers.tokenizers.EncodeOptions;
import dev.jformers.tokenizers.Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * HF's {@code TextGenerationPipeline} (transformers 4.28) for any causal LM (GPT-2, BERT / RoBERTa with
 * {@code is_decoder}): continues a prompt with {@link Generator} and returns the text.
 *
 * <p>Generation settings: the model's {@link GenerationConfig#forPipeline} (generation_config.json, or config.json
 * with its {@code task_specific_params["text-generation"]}), then the call's generate arguments. Pipeline arguments as
 * HF's: {@code return_full_text} (prompt string + new text, the default), {@code return_tensors},
 * {@code clean_up_tokenization_spaces} (default true), {@code prefix} (tokenized with the prompt, not returned;
 * without max_new_tokens it lengthens max_length by its own token count, as HF does), {@code stop_sequence} (its first
 * token becomes the eos id, as in HF), {@code handle_long_generation="hole"} (cuts the prompt's start so that prompt +
 * new tokens fit the tokenizer's model_max_length). Sampling uses jformers' random generator: a seed makes runs
 * repeatable, but sampled texts differ from PyTorch's; greedy and beam texts are HF's.
 */
public final class TextGenerationPipeline extends Pipeline {

    /**
     * A pipeline call's arguments: generate's (HF names, {@link GenerationConfig} fields) and the pipeline's own.
     * Immutable; every {@code with…} returns a copy.
     */
    public static final class Options {
        private static final ObjectMapper JSON = new ObjectMapper();
        private final ObjectNode generate;
        private final boolean returnFullText;
        private final boolean returnTensors;
        private final boolean cleanUpTokenizationSpaces;
        private final String prefix;
        private final String handleLongGeneration;
        private final String stopSequence;

        private Options(ObjectNode generate, boolean returnFullText, boolean returnTensors, boolean cleanUp,
                        String prefix, String handleLongGeneration, String stopSequence) {
            this.generate = generate;
            this.returnFullText = returnFullText;
            this.returnTensors = returnTensors;
            this.cleanUpTokenizationSpaces = cleanUp;
            this.prefix = prefix;
            this.handleLongGeneration = handleLongGeneration;
            this.stopSequence = stopSequence;
        }

        public static Options defaults() {
            return new Options(JsonNodeFactory.instance.objectNode(), true, false, true, null, null, null);
        }

        /** One of generate's arguments by its HF name (checked against {@link GenerationConfig}'s fields when used). */
        public Options with(String generateArgument, Object value) {
            ObjectNode g = generate.deepCopy();
            g.set(generateArgument, value == null ? JsonNodeFactory.instance.nullNode() : JSON.valueToTree(value));
            return new Options(g, returnFullText, returnTensors, cleanUpTokenizationSpaces, prefix, handleLongGeneration, stopSequence);
        }

        /** Several generate arguments (a JSON object of HF names). */
        public Options withAll(JsonNode generateArguments) {
            ObjectNode g = generate.deepCopy();
            g.setAll((ObjectNode) generateArguments);
            return new Options(g, returnFullText, returnTensors, cleanUpTokenizationSpaces, prefix, handleLongGeneration, stopSequence);
        }

        public ObjectNode generateArguments() {
            return generate.deepCopy();
        }

        public Options withMaxNewTokens(Integer v) {
            return with("max_new_tokens", v);
        }

        public Options withDoSample(Boolean v) {
            return with("do_sample", v);
        }

        public Options withTemperature(Double v) {
            return with("temperature", v);
        }

        public Options withTopK(Integer v) {
            return with("top_k", v);
        }

        public Options withTopP(Double v) {
            return with("top_p", v);
        }

        public Options withSeed(Long v) {
            return with("seed", v);
        }

        public Options withRepetitionPenalty(Double v) {
            return with("repetition_penalty", v);
        }

        public Options withReturnFullText(boolean v) {
            return new Options(generate, v, returnTensors, cleanUpTokenizationSpaces, prefix, handleLongGeneration, stopSequence);
        }

        public Options withReturnTensors(boolean v) {
            return new Options(generate, returnFullText, v, cleanUpTokenizationSpaces, prefix, handleLongGeneration, stopSequence);
        }

        public Options withCleanUpTokenizationSpaces(boolean v) {
            return new Options(generate, returnFullText, returnTensors, v, prefix, handleLongGeneration, stopSequence);
        }

        public Options withPrefix(String v) {
            return new Options(generate, returnFullText, returnTensors, cleanUpTokenizationSpaces, v, handleLongGeneration, stopSequence);
        }

        /** null or "hole" (HF's only strategy). */
        public Options withHandleLongGeneration(String v) {
            if (v != null && !v.equals("hole")) {
                throw new PipelineException(v + " is not a valid value for `handle_long_generation` parameter expected [None, 'hole']");
            }
            return new Options(generate, returnFullText, returnTensors, cleanUpTokenizationSpaces, prefix, v, stopSequence);
        }

        public Options withStopSequence(String v) {
            return new Options(generate, returnFullText, returnTensors, cleanUpTokenizationSpaces, prefix, handleLongGeneration, v);
        }
    }

    /** HF's {@code {generated_text}} or, with return_tensors, {@code {generated_token_ids}}. */
    public sealed interface Generated permits GeneratedText, GeneratedTokenIds {
    }

    /** One generated sequence as text (prompt included unless return_full_text is false). */
    public record GeneratedText(@JsonProperty("generated_text") String generatedText) implements Generated {
    }

    /** One generated sequence as token ids (HF's return_tensors). */
    public record GeneratedTokenIds(@JsonProperty("generated_token_ids") long[] generatedTokenIds) implements Generated {
    }

    private final CausalLM lm;
    /** The model's generation settings before the call's arguments (read once). */
    private final GenerationConfig defaults;

    TextGenerationPipeline(Path dir, CausalLM model, Tokenizer tokenizer) {
        super("text-generation", dir, model, tokenizer);
        this.lm = model;
        this.defaults = GenerationConfig.forPipeline(dir, "text-generation");
    }

    /** The settings a call with these options generates with (the model's, then the call's generate arguments). */
    public GenerationConfig generationConfig(Options o) {
        return defaults.update(o.generate);
    }

    /** The model, as the causal LM generation drives. */
    public CausalLM lm() {
        return lm;
    }

    /** The model config's max_length after task_specific_params (what HF's prefix adjustment starts from). */
    private int modelConfigMaxLength() {
        JsonNode config = model().config().common().json();
        JsonNode task = config.path("task_specific_params").path("text-generation");
        return task.path("max_length").asInt(config.path("max_length").asInt(20));
    }

    /**
     * Generates from one prompt: HF's list of results (num_return_sequences of them). {@code stream} (may be null)
     * receives the new text of the first sequence as it comes, in whole words ({@link TextStreamer}); it needs one
     * sequence (no beams).
     */
    public List<Generated> call(String prompt, Options o, Consumer<String> stream) {
        Tokenizer tok = tokenizer();
        ObjectNode kwargs = o.generate.deepCopy();
        String prefix = o.prefix != null ? o.prefix : textOrNull(model().config().common().json().get("prefix"));
        if (o.stopSequence != null) {
            int[] stop = encode(o.stopSequence);
            if (stop.length == 0) {
                throw new PipelineException("stop_sequence '" + o.stopSequence + "' encodes to no token");
            }
            kwargs.put("eos_token_id", stop[0]);   // HF: only the first token (it warns for longer ones)
        }
        int[] promptIds = encode((prefix == null ? "" : prefix) + prompt);
        if (prefix != null && !prefix.isEmpty()) {
            // HF: without max_new_tokens, max_length grows by the prefix's own token count (tokenized alone)
            int prefixLength = encode(prefix).length;
            if (!kwargs.hasNonNull("max_new_tokens")) {
                int base = kwargs.hasNonNull("max_length") ? kwargs.get("max_length").asInt() : modelConfigMaxLength();
                kwargs.put("max_length", base + prefixLength);
            }
            if (!kwargs.hasNonNull("min_new_tokens") && kwargs.hasNonNull("min_length")) {
                kwargs.put("min_length", kwargs.get("min_length").asInt() + prefixLength);
            }
        }
        if ("hole".equals(o.handleLongGeneration)) {
            promptIds = hole(promptIds, kwargs);
        }
        GenerationConfig config = defaults.update(kwargs);
        boolean emptyPrompt = promptIds.length == 0;
        long[] promptTokens = toLongs(promptIds);
        if (emptyPrompt) {
            // HF generates from the bos token when there is no input
            Integer bos = config.bosTokenId();
            if (bos == null) {
                throw new PipelineException("`bos_token_id` has to be defined when no `input_ids` are provided.");
            }
            promptTokens = new long[] {bos};
        }
        long[] mask = new long[promptTokens.length];
        Arrays.fill(mask, 1);
        TextStreamer streamer = stream == null ? null : new TextStreamer(tok, o.cleanUpTokenizationSpaces, stream);
        long[][] sequences = new Generator(lm).generate(new long[][] {promptTokens}, new long[][] {mask}, config, streamer);
        if (streamer != null) {
            streamer.end();
        }
        List<Generated> out = new ArrayList<>();
        for (long[] sequence : sequences) {
            out.add(postprocess(prompt, emptyPrompt ? new int[0] : promptIds, sequence, o));
        }
        return out;
    }

    /** HF's postprocess: decode, cut as many characters as the decoded prompt has, put the prompt string in front. */
    private Generated postprocess(String prompt, int[] promptIds, long[] sequence, Options o) {
        if (o.returnTensors) {
            return new GeneratedTokenIds(sequence);
        }
        Tokenizer tok = tokenizer();
        int[] ids = new int[sequence.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (int) sequence[i];
        }
        String all = tok.decode(ids, true, o.cleanUpTokenizationSpaces);
        String decodedPrompt = promptIds.length == 0 ? "" : tok.decode(promptIds, true, o.cleanUpTokenizationSpaces);
        int promptChars = decodedPrompt.codePointCount(0, decodedPrompt.length());   // Python's len
        int cut = all.offsetByCodePoints(0, Math.min(promptChars, all.codePointCount(0, all.length())));
        String continuation = all.substring(cut);
        return new GeneratedText(o.returnFullText ? prompt + continuation : continuation);
    }

    /** HF's handle_long_generation="hole": keep the prompt's last tokens so that prompt + new tokens fit. */
    private int[] hole(int[] ids, ObjectNode kwargs) {
        int newTokens = kwargs.hasNonNull("max_new_tokens") ? kwargs.get("max_new_tokens").asInt()
                : (kwargs.hasNonNull("max_length") ? kwargs.get("max_length").asInt() : modelConfigMaxLength()) - ids.length;
        if (newTokens < 0) {
            throw new PipelineException("We cannot infer how many new tokens are expected");
        }
        int max = tokenizer().modelMaxLength();
        if (max > 0 && ids.length + newTokens > max) {
            int keep = max - newTokens;
            if (keep <= 0) {
                throw new PipelineException("We cannot use `hole` to handle this generation the number of desired tokens"
                        + " exceeds the models max length");
            }
            return Arrays.copyOfRange(ids, ids.length - keep, ids.length);
        }
        return ids;
    }

    private int[] encode(String text) {
        return tokenizer().encode(text, EncodeOptions.defaults().withAddSpecialTokens(false)).ids();
    }

    private static String textOrNull(JsonNode n) {
        return n == null || n.isNull() ? null : n.asText();
    }

    /** The first generated result for one prompt (see {@link #call(String, Options, Consumer)}). */
    public Generated generate(String prompt, Options o, Consumer<String> stream) {
        return call(prompt, o, stream).get(0);
    }

    /** The typed call: the prompt and its continuation, with the model's generation config (HF's defaults). */
    public String apply(String prompt) {
        return ((GeneratedText) generate(prompt, Options.defaults(), null)).generatedText();
    }

    /** HF's return value for one prompt: a list of num_return_sequences results. */
    public List<Generated> call(String prompt, Options o) {
        return call(prompt, o, null);
    }

    /** HF's return value for a list of prompts: one list per prompt (each generated on its own, unpadded). */
    public List<List<Generated>> call(List<String> prompts, Options o) {
        List<List<Generated>> out = new ArrayList<>();
        for (String p : prompts) {
            out.add(call(p, o));
        }
        return out;
    }
}
