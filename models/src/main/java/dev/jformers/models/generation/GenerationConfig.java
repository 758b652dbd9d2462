package dev.jformers.models.generation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.JformersException;
import dev.jformers.core.JsonErrors;
import dev.jformers.core.ModelFolder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Hugging Face's {@code GenerationConfig} (transformers 4.28): every field it has, under its HF name, with HF's
 * defaults. Immutable; {@link #update} gives a changed copy, as HF's {@code generate(**kwargs)} does on a deep copy.
 *
 * <p>Where it comes from, in HF's order: {@code generation_config.json}, or — when there is none, or it says
 * {@code "_from_model_config": true} — the generation fields of config.json (legacy configs keep them there); a
 * pipeline first applies config.json's {@code task_specific_params[task]} to the model config, which reaches
 * generate only in that second case ({@link #forPipeline}); then call options / CLI flags override field by field.
 *
 * <p>Every field is either honoured by {@link Generator} or, when it holds a value other than its default, refused
 * with its name ({@link #UNIMPLEMENTED}): nothing is silently ignored. {@code use_cache}, {@code output_scores},
 * {@code return_dict_in_generate} and {@code decoder_start_token_id} (encoder-decoder models only) do not change the
 * generated tokens. {@code seed} is jformers' own: sampling uses jformers' random generator, which cannot repeat
 * PyTorch's draws (the filtering before the draw is HF's, checked on fixed logits).
 */
public final class GenerationConfig {
    /** How {@link #update(String, String)} parses a field written as text (CLI flags). */
    private enum Kind { INT, OPTIONAL_INT, FLOAT, OPTIONAL_FLOAT, BOOL, IDS, ID_LISTS, EARLY_STOPPING, JSON }

    private record Field(Kind kind, JsonNode dflt) {
    }

    /** HF 4.28's fields and defaults, in its order, plus jformers' {@code seed}. */
    private static final Map<String, Field> FIELDS = new LinkedHashMap<>();
    /** Fields jformers does not implement, with what they would need. Refused unless at their default. */
    public static final Map<String, String> UNIMPLEMENTED = Map.of(
            "num_beam_groups", "group (diverse) beam search",
            "penalty_alpha", "contrastive search",
            "diversity_penalty", "group (diverse) beam search",
            "encoder_repetition_penalty", "the encoder repetition penalty",
            "force_words_ids", "constrained beam search",
            "constraints", "constrained beam search",
            "forced_decoder_ids", "forced decoder ids (encoder-decoder models)",
            "encoder_no_repeat_ngram_size", "an encoder-decoder model (Hugging Face refuses it for decoder-only models too)",
            "output_attentions", "returning attentions from generate (it returns sequences and beam scores)",
            "output_hidden_states", "returning hidden states from generate (it returns sequences and beam scores)");

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final ObjectMapper JSON = new ObjectMapper();

    static {
        field("max_length", Kind.INT, NODES.numberNode(20));
        field("max_new_tokens", Kind.OPTIONAL_INT, null);
        field("min_length", Kind.INT, NODES.numberNode(0));
        field("min_new_tokens", Kind.OPTIONAL_INT, null);
        field("early_stopping", Kind.EARLY_STOPPING, NODES.booleanNode(false));
        field("max_time", Kind.OPTIONAL_FLOAT, null);
        field("do_sample", Kind.BOOL, NODES.booleanNode(false));
        field("num_beams", Kind.INT, NODES.numberNode(1));
        field("num_beam_groups", Kind.INT, NODES.numberNode(1));
        field("penalty_alpha", Kind.OPTIONAL_FLOAT, null);
        field("use_cache", Kind.BOOL, NODES.booleanNode(true));
        field("temperature", Kind.FLOAT, NODES.numberNode(1.0));
        field("top_k", Kind.INT, NODES.numberNode(50));
        field("top_p", Kind.FLOAT, NODES.numberNode(1.0));
        field("typical_p", Kind.FLOAT, NODES.numberNode(1.0));
        field("epsilon_cutoff", Kind.FLOAT, NODES.numberNode(0.0));
        field("eta_cutoff", Kind.FLOAT, NODES.numberNode(0.0));
        field("diversity_penalty", Kind.FLOAT, NODES.numberNode(0.0));
        field("repetition_penalty", Kind.FLOAT, NODES.numberNode(1.0));
        field("encoder_repetition_penalty", Kind.FLOAT, NODES.numberNode(1.0));
        field("length_penalty", Kind.FLOAT, NODES.numberNode(1.0));
        field("no_repeat_ngram_size", Kind.INT, NODES.numberNode(0));
        field("bad_words_ids", Kind.ID_LISTS, null);
        field("force_words_ids", Kind.JSON, null);
        field("renormalize_logits", Kind.BOOL, NODES.booleanNode(false));
        field("constraints", Kind.JSON, null);
        field("forced_bos_token_id", Kind.OPTIONAL_INT, null);
        field("forced_eos_token_id", Kind.IDS, null);
        field("remove_invalid_values", Kind.BOOL, NODES.booleanNode(false));
        field("exponential_decay_length_penalty", Kind.JSON, null);
        field("suppress_tokens", Kind.IDS, null);
        field("begin_suppress_tokens", Kind.IDS, null);
        field("forced_decoder_ids", Kind.JSON, null);
        field("num_return_sequences", Kind.INT, NODES.numberNode(1));
        field("output_attentions", Kind.BOOL, NODES.booleanNode(false));
        field("output_hidden_states", Kind.BOOL, NODES.booleanNode(false));
        field("output_scores", Kind.BOOL, NODES.booleanNode(false));
        field("return_dict_in_generate", Kind.BOOL, NODES.booleanNode(false));
        field("pad_token_id", Kind.OPTIONAL_INT, null);
        field("bos_token_id", Kind.OPTIONAL_INT, null);
        field("eos_token_id", Kind.IDS, null);
        field("encoder_no_repeat_ngram_size", Kind.INT, NODES.numberNode(0));
        field("decoder_start_token_id", Kind.OPTIONAL_INT, null);
        field("seed", Kind.OPTIONAL_INT, null);
    }

    private static void field(String name, Kind kind, JsonNode dflt) {
        FIELDS.put(name, new Field(kind, dflt == null ? NODES.nullNode() : dflt));
    }

    /** Every field, defaults filled in. */
    private final ObjectNode values;

    private GenerationConfig(ObjectNode values) {
        this.values = values;
    }

    /** HF's defaults ({@code GenerationConfig()}). */
    public static GenerationConfig defaults() {
        ObjectNode v = NODES.objectNode();
        FIELDS.forEach((name, f) -> v.set(name, f.dflt()));
        return new GenerationConfig(v);
    }

    /** The names of every field (HF's, in its order, then {@code seed}). */
    public static Iterable<String> fieldNames() {
        return FIELDS.keySet();
    }

    /**
     * generation_config.json's content: its generation fields over the defaults. Other keys (HF keeps them as
     * attributes nobody reads: {@code transformers_version}, {@code _from_model_config}, ...) are skipped.
     */
    public static GenerationConfig fromJson(JsonNode json, String where) {
        return defaults().merge(json, where, false);
    }

    /** HF's {@code GenerationConfig.from_model_config}: the generation fields a config.json holds (legacy configs). */
    public static GenerationConfig fromModelConfig(JsonNode configJson, String where) {
        return defaults().merge(configJson, where, false);
    }

    /** What {@code model.generation_config} is after {@code from_pretrained(dir)}. */
    public static GenerationConfig fromPretrained(Path dir) {
        return forPipeline(dir, null);
    }

    /**
     * What a pipeline's {@code generate} call starts from: {@code pipeline(task, dir)} applies config.json's
     * {@code task_specific_params[task]} to the model config, and generate rebuilds its config from the model
     * config when the generation config came from it (no generation_config.json, or one marked
     * {@code _from_model_config}); a real generation_config.json is used as it is.
     *
     * @param task null: no task parameters (plain {@code generate})
     */
    public static GenerationConfig forPipeline(Path dir, String task) {
        // a model folder is untrusted: its files must not be links that lead outside it
        Path configFile = ModelFolder.require(dir, dir.resolve("config.json"));
        JsonNode config = read(configFile);
        Path genFile = ModelFolder.require(dir, dir.resolve("generation_config.json"));
        if (Files.isRegularFile(genFile)) {
            JsonNode gen = read(genFile);
            if (!gen.path("_from_model_config").asBoolean(false)) {
                return fromJson(gen, genFile.toString());
            }
        }
        GenerationConfig g = fromModelConfig(config, configFile.toString());
        JsonNode taskParams = task == null ? null : config.path("task_specific_params").get(task);
        if (taskParams != null && taskParams.isObject()) {
            g = g.merge(taskParams, configFile + " task_specific_params[\"" + task + "\"]", false);
        }
        return g;
    }

    private static JsonNode read(Path file) {
        try {
            JsonNode json = JSON.readTree(file.toFile());
            if (json == null || !json.isObject()) {
                throw new JformersException(file + ": not a JSON object");
            }
            return json;
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new JformersException(JsonErrors.message(file, e), e);
        } catch (IOException e) {
            throw new JformersException(file + ": unreadable JSON: " + e.getMessage(), e);
        }
    }

    /**
     * HF's {@code generate(**kwargs)}: these fields override this config. Unlike a file, call arguments must be
     * fields: an unknown name is refused (HF raises for unused model kwargs).
     */
    public GenerationConfig update(JsonNode kwargs) {
        return merge(kwargs, "generate", true);
    }

    /** One field from text, as a CLI flag gives it: numbers, true/false, lists comma-separated or as JSON. */
    public GenerationConfig update(String name, String text) {
        return merge(NODES.objectNode().set(name, parse(name, text)), "option", true);
    }

    /** Whether a field is a flag (true/false; early_stopping also takes "never"). */
    public static boolean isBoolean(String name) {
        Field f = FIELDS.get(name);
        return f != null && (f.kind() == Kind.BOOL || f.kind() == Kind.EARLY_STOPPING);
    }

    /** What a field's text form must look like, e.g. "an integer or null". */
    public static String expected(String name) {
        Field f = FIELDS.get(name);
        if (f == null) {
            throw new IllegalArgumentException("not a generation field: " + name);
        }
        return expected(f.kind()) + "; default " + f.dflt();
    }

    /**
     * A field's value from text: integers, numbers, true/false ("never" for early_stopping), "null"/"none", id lists
     * comma-separated or as JSON, bad_words_ids as JSON.
     *
     * @throws JformersException naming the field and what it expects
     */
    public static JsonNode parse(String name, String text) {
        Field f = FIELDS.get(name);
        if (f == null) {
            throw new JformersException("unknown generation option '" + name + "'");
        }
        JsonNode node;
        String t = text.trim();
        try {
            node = switch (f.kind()) {
                case INT, OPTIONAL_INT -> t.equalsIgnoreCase("none") || t.equalsIgnoreCase("null")
                        ? NODES.nullNode() : NODES.numberNode(Long.parseLong(t));
                case FLOAT, OPTIONAL_FLOAT -> t.equalsIgnoreCase("none") || t.equalsIgnoreCase("null")
                        ? NODES.nullNode() : NODES.numberNode(Double.parseDouble(t));
                case BOOL -> NODES.booleanNode(parseBoolean(t));
                case EARLY_STOPPING -> t.equalsIgnoreCase("never") ? NODES.textNode("never") : NODES.booleanNode(parseBoolean(t));
                case IDS -> {
                    if (t.startsWith("[")) {
                        yield JSON.readTree(t);
                    }
                    var list = NODES.arrayNode();
                    for (String part : t.split(",")) {
                        list.add(Long.parseLong(part.trim()));
                    }
                    yield list.size() == 1 ? list.get(0) : list;
                }
                case ID_LISTS, JSON -> JSON.readTree(t);
            };
        } catch (IOException | RuntimeException e) {
            throw new JformersException(name + ": cannot read '" + text + "' (" + expected(f.kind()) + ")");
        }
        return node;
    }

    private static boolean parseBoolean(String t) {
        return switch (t.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(t);
        };
    }

    private static String expected(Kind kind) {
        return switch (kind) {
            case INT -> "an integer";
            case OPTIONAL_INT -> "an integer or null";
            case FLOAT -> "a number";
            case OPTIONAL_FLOAT -> "a number or null";
            case BOOL -> "true or false";
            case EARLY_STOPPING -> "true, false or never";
            case IDS -> "a token id or a list of ids (comma-separated or JSON)";
            case ID_LISTS -> "a JSON list of lists of token ids, e.g. [[13], [17, 99]]";
            case JSON -> "JSON";
        };
    }

    /** This config with the HF fields of {@code json} set; type-checked; unimplemented non-defaults refused. */
    private GenerationConfig merge(JsonNode json, String where, boolean strict) {
        ObjectNode v = values.deepCopy();
        for (Iterator<Map.Entry<String, JsonNode>> it = json.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            Field f = FIELDS.get(e.getKey());
            if (f == null) {
                if (strict) {
                    throw new JformersException(where + ": '" + e.getKey() + "' is not a generation option");
                }
                continue;
            }
            JsonNode value = e.getValue();
            if (!fits(f.kind(), value)) {
                throw new JformersException(where + ": " + e.getKey() + " = " + value + " is not " + expected(f.kind()));
            }
            String missing = UNIMPLEMENTED.get(e.getKey());
            if (missing != null && !isDefault(e.getKey(), value)) {
                throw new JformersException(where + ": " + e.getKey() + " = " + value + " needs " + missing
                        + ", which jformers does not implement (leave it at its default " + f.dflt() + ")");
            }
            v.set(e.getKey(), value);
        }
        return new GenerationConfig(v);
    }

    private static boolean isDefault(String name, JsonNode value) {
        JsonNode d = FIELDS.get(name).dflt();
        return d.isNumber() && value.isNumber() ? d.asDouble() == value.asDouble() : d.equals(value);
    }

    private static boolean fits(Kind kind, JsonNode v) {
        return switch (kind) {
            case INT -> v.isIntegralNumber();
            case OPTIONAL_INT -> v.isNull() || v.isIntegralNumber();
            case FLOAT -> v.isNumber();
            case OPTIONAL_FLOAT -> v.isNull() || v.isNumber();
            case BOOL -> v.isBoolean();
            case EARLY_STOPPING -> v.isBoolean() || "never".equals(v.asText(null));
            case IDS -> v.isNull() || v.isIntegralNumber() || (v.isArray() && allIntegral(v));
            case ID_LISTS -> v.isNull() || (v.isArray() && all(v, row -> row.isArray() && allIntegral(row)));
            case JSON -> true;
        };
    }

    private static boolean allIntegral(JsonNode list) {
        return all(list, JsonNode::isIntegralNumber);
    }

    private static boolean all(JsonNode list, java.util.function.Predicate<JsonNode> test) {
        for (JsonNode n : list) {
            if (!test.test(n)) {
                return false;
            }
        }
        return true;
    }

    /** The fields that differ from HF's defaults, as HF's {@code to_diff_dict} lists them. */
    public ObjectNode toDiffJson() {
        ObjectNode out = NODES.objectNode();
        FIELDS.forEach((name, f) -> {
            if (!isDefault(name, values.get(name))) {
                out.set(name, values.get(name));
            }
        });
        return out;
    }

    /** Every field. */
    public ObjectNode toJson() {
        return values.deepCopy();
    }

    public JsonNode get(String name) {
        if (!FIELDS.containsKey(name)) {
            throw new IllegalArgumentException("not a generation field: " + name);
        }
        return values.get(name);
    }

    // ---- typed accessors (HF names in camelCase) ----

    public int maxLength() {
        return values.get("max_length").asInt();
    }

    public Integer maxNewTokens() {
        return optionalInt("max_new_tokens");
    }

    public int minLength() {
        return values.get("min_length").asInt();
    }

    public Integer minNewTokens() {
        return optionalInt("min_new_tokens");
    }

    /** HF's early_stopping: true, false or "never". */
    public enum EarlyStopping {
        /** Stop a beam search as soon as num_beams finished candidates exist. */
        TRUE,
        /** Stop when no better candidate can be found by HF's heuristic (the default). */
        FALSE,
        /** Stop only when no better candidate can exist (the canonical beam search). */
        NEVER
    }

    public EarlyStopping earlyStopping() {
        JsonNode n = values.get("early_stopping");
        return n.isBoolean() ? (n.asBoolean() ? EarlyStopping.TRUE : EarlyStopping.FALSE) : EarlyStopping.NEVER;
    }

    public Double maxTime() {
        JsonNode n = values.get("max_time");
        return n.isNull() ? null : n.asDouble();
    }

    public boolean doSample() {
        return values.get("do_sample").asBoolean();
    }

    public int numBeams() {
        return values.get("num_beams").asInt();
    }

    public double temperature() {
        return values.get("temperature").asDouble();
    }

    public int topK() {
        return values.get("top_k").asInt();
    }

    public double topP() {
        return values.get("top_p").asDouble();
    }

    public double typicalP() {
        return values.get("typical_p").asDouble();
    }

    public double epsilonCutoff() {
        return values.get("epsilon_cutoff").asDouble();
    }

    public double etaCutoff() {
        return values.get("eta_cutoff").asDouble();
    }

    public double repetitionPenalty() {
        return values.get("repetition_penalty").asDouble();
    }

    public double lengthPenalty() {
        return values.get("length_penalty").asDouble();
    }

    public int noRepeatNgramSize() {
        return values.get("no_repeat_ngram_size").asInt();
    }

    /** null when unset. */
    public int[][] badWordsIds() {
        JsonNode n = values.get("bad_words_ids");
        if (n.isNull()) {
            return null;
        }
        int[][] out = new int[n.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = ids(n.get(i));
        }
        return out;
    }

    public boolean renormalizeLogits() {
        return values.get("renormalize_logits").asBoolean();
    }

    public Integer forcedBosTokenId() {
        return optionalInt("forced_bos_token_id");
    }

    /** null when unset; HF accepts one id or a list. */
    public int[] forcedEosTokenIds() {
        return optionalIds("forced_eos_token_id");
    }

    public boolean removeInvalidValues() {
        return values.get("remove_invalid_values").asBoolean();
    }

    /** HF's (start_index, decay_factor), or null. */
    public double[] exponentialDecayLengthPenalty() {
        JsonNode n = values.get("exponential_decay_length_penalty");
        if (n.isNull()) {
            return null;
        }
        if (!n.isArray() || n.size() != 2 || !n.get(0).isIntegralNumber() || !n.get(1).isNumber()) {
            throw new JformersException("exponential_decay_length_penalty must be [start_index, decay_factor], got " + n);
        }
        return new double[] {n.get(0).asInt(), n.get(1).asDouble()};
    }

    public int[] suppressTokens() {
        return optionalIds("suppress_tokens");
    }

    public int[] beginSuppressTokens() {
        return optionalIds("begin_suppress_tokens");
    }

    public int numReturnSequences() {
        return values.get("num_return_sequences").asInt();
    }

    public boolean outputScores() {
        return values.get("output_scores").asBoolean();
    }

    public boolean returnDictInGenerate() {
        return values.get("return_dict_in_generate").asBoolean();
    }

    public Integer padTokenId() {
        return optionalInt("pad_token_id");
    }

    public Integer bosTokenId() {
        return optionalInt("bos_token_id");
    }

    /** The eos ids (HF accepts one id or a list; any of them ends a row); null when unset. */
    public int[] eosTokenIds() {
        return optionalIds("eos_token_id");
    }

    /** jformers' sampling seed (not an HF field); null: a random one. */
    public Long seed() {
        JsonNode n = values.get("seed");
        return n.isNull() ? null : n.asLong();
    }

    private Integer optionalInt(String name) {
        JsonNode n = values.get(name);
        return n.isNull() ? null : n.asInt();
    }

    private int[] optionalIds(String name) {
        JsonNode n = values.get(name);
        return n.isNull() ? null : ids(n);
    }

    private static int[] ids(JsonNode n) {
        if (!n.isArray()) {
            return new int[] {n.asInt()};
        }
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asInt();
        }
        return out;
    }

    // ---- shorthands ----

    /** A copy with one field set (any JSON value; checked as {@link #update(JsonNode)} does). */
    public GenerationConfig with(String name, Object value) {
        return update(NODES.objectNode().set(name, JSON.valueToTree(value)));
    }

    /** Greedy decoding of {@code maxNewTokens} tokens, stopping at {@code eosTokenId} (null: never). */
    public static GenerationConfig greedy(int maxNewTokens, Integer eosTokenId) {
        return defaults().with("max_new_tokens", maxNewTokens).with("eos_token_id", eosTokenId);
    }

    /** Sampling with HF's defaults (temperature 1, top-k 50, top-p 1). */
    public static GenerationConfig sampling(int maxNewTokens, Integer eosTokenId, Long seed) {
        return greedy(maxNewTokens, eosTokenId).with("do_sample", true).with("seed", seed);
    }

    public GenerationConfig withSampling(double temperature, int topK, double topP, Long seed) {
        return with("do_sample", true).with("temperature", temperature).with("top_k", topK).with("top_p", topP)
                .with("seed", seed);
    }

    public GenerationConfig withRepetitionPenalty(double penalty) {
        return with("repetition_penalty", penalty);
    }

    public GenerationConfig withPadTokenId(Integer pad) {
        return with("pad_token_id", pad);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerationConfig g && g.values.equals(values);
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }

    @Override
    public String toString() {
        return "GenerationConfig" + toDiffJson();
    }
}
