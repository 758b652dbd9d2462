package dev.jformers.tokenizers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jformers.core.JsonErrors;
import dev.jformers.core.ModelFolder;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Loads a tokenizer from a Hugging Face model folder, like {@code AutoTokenizer.from_pretrained(dir)}.
 *
 * <p>{@code tokenizer.json} (the fast-tokenizer file) is used when present; otherwise the slow-tokenizer files:
 * {@code vocab.txt} (BERT) or {@code vocab.json} + {@code merges.txt} (GPT-2, RoBERTa). The kind comes from
 * {@code tokenizer_config.json} ({@code tokenizer_class}) or {@code config.json} ({@code model_type});
 * {@code tokenizer_config.json}, {@code special_tokens_map.json} and {@code added_tokens.json} give
 * model_max_length, do_lower_case, add_prefix_space and the special tokens.
 */
public final class AutoTokenizer {
    private AutoTokenizer() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The three tokenizer families this module implements. */
    public enum Kind {
        /** BERT, DistilBERT, MiniLM…: BasicTokenizer + WordPiece, [CLS] A [SEP] B [SEP]. */
        BERT,
        /** RoBERTa, DistilRoBERTa: byte-level BPE, {@code <s> A </s></s> B </s>}. */
        ROBERTA,
        /** GPT-2: byte-level BPE, no special tokens added. */
        GPT2
    }

    /**
     * Loads the tokenizer of a model folder or model id, resolved as the command line's {@code --model} is
     * (folder, Hugging Face cache and Hub, Maven-packaged models) when {@code jformers-models} is on the class
     * path; with this module alone, only folders.
     */
    public static Tokenizer fromPretrained(String idOrPath) {
        if (idOrPath == null || idOrPath.isBlank()) {
            throw new TokenizerException("no model folder or id given");
        }
        try {
            Path dir = Path.of(idOrPath);
            if (Files.isDirectory(dir)) {
                return fromPretrained(dir);
            }
        } catch (java.nio.file.InvalidPathException e) {
            // not a path: an id
        }
        for (ModelFolderResolver r : java.util.ServiceLoader.load(ModelFolderResolver.class)) {
            return fromPretrained(r.resolve(idOrPath));
        }
        throw new TokenizerException("'" + idOrPath + "' is not a folder, and resolving model ids needs jformers-models "
                + "on the class path");
    }

    /** Loads the tokenizer of a model folder. */
    public static Tokenizer fromPretrained(Path dir) {
        if (!Files.isDirectory(dir)) throw new TokenizerException("not a directory: " + dir);
        JsonNode tokConfig = readJsonIfExists(file(dir, "tokenizer_config.json"));
        JsonNode specialMap = readJsonIfExists(file(dir, "special_tokens_map.json"));
        JsonNode modelConfig = readJsonIfExists(file(dir, "config.json"));
        Path tokenizerJson = file(dir, "tokenizer.json");
        Kind kind = detectKind(tokConfig, modelConfig);
        if (Files.isRegularFile(tokenizerJson)) {
            return TokenizerJson.load(readJson(tokenizerJson), kind, tokConfig, specialMap);
        }
        if (kind == null) {
            if (Files.isRegularFile(file(dir, "vocab.txt"))) {
                kind = Kind.BERT;
            } else {
                throw new TokenizerException("cannot tell the tokenizer kind of " + dir
                        + ": no tokenizer.json, and neither tokenizer_config.json (tokenizer_class) nor config.json "
                        + "(model_type) names a supported one (bert, distilbert, roberta, gpt2)");
            }
        }
        Map<String, JsonNode> settings = settings(tokConfig, specialMap);
        JsonNode addedTokens = readJsonIfExists(file(dir, "added_tokens.json"));
        return switch (kind) {
            case BERT -> {
                Path vocab = require(file(dir, "vocab.txt"));
                yield bert(readVocabTxt(vocab), settings, addedTokens);
            }
            case ROBERTA, GPT2 -> {
                Path vocab = require(file(dir, "vocab.json"));
                Path merges = require(file(dir, "merges.txt"));
                yield bpe(kind, readVocabJson(vocab), readMergesTxt(merges), settings, addedTokens);
            }
        };
    }

    /** Loads a {@code tokenizer.json} file alone (no tokenizer_config.json: roles are guessed from the tokens). */
    public static Tokenizer fromTokenizerJson(Path tokenizerJson) {
        return TokenizerJson.load(readJson(tokenizerJson), null, null, null);
    }

    /** BERT tokenizer from a {@code vocab.txt} with default settings (model_max_length unlimited). */
    public static Tokenizer bertFromVocab(Path vocabTxt, boolean doLowerCase) {
        Map<String, JsonNode> s = new HashMap<>();
        s.put("do_lower_case", JSON.getNodeFactory().booleanNode(doLowerCase));
        return bert(readVocabTxt(vocabTxt), s, null);
    }

    /** GPT-2 tokenizer from {@code vocab.json} and {@code merges.txt} with default settings. */
    public static Tokenizer gpt2FromFiles(Path vocabJson, Path mergesTxt) {
        return bpe(Kind.GPT2, readVocabJson(vocabJson), readMergesTxt(mergesTxt), new HashMap<>(), null);
    }

    /** RoBERTa tokenizer from {@code vocab.json} and {@code merges.txt} with default settings. */
    public static Tokenizer robertaFromFiles(Path vocabJson, Path mergesTxt) {
        return bpe(Kind.ROBERTA, readVocabJson(vocabJson), readMergesTxt(mergesTxt), new HashMap<>(), null);
    }

    // ---------------------------------------------------------------- kind detection

    static Kind detectKind(JsonNode tokConfig, JsonNode modelConfig) {
        if (tokConfig != null && tokConfig.hasNonNull("tokenizer_class")) {
            String c = tokConfig.get("tokenizer_class").asText().toLowerCase(Locale.ROOT);
            if (c.contains("roberta")) return Kind.ROBERTA;
            if (c.contains("gpt2")) return Kind.GPT2;
            if (c.contains("bert")) return Kind.BERT; // BertTokenizer, DistilBertTokenizer(Fast)
        }
        if (modelConfig != null && modelConfig.hasNonNull("model_type")) {
            String t = modelConfig.get("model_type").asText().toLowerCase(Locale.ROOT);
            switch (t) {
                case "bert", "distilbert" -> { return Kind.BERT; }
                case "roberta" -> { return Kind.ROBERTA; }
                case "gpt2" -> { return Kind.GPT2; }
                default -> { }
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- slow files

    /** tokenizer_config.json entries, overridden by special_tokens_map.json (as HF's from_pretrained does). */
    static Map<String, JsonNode> settings(JsonNode tokConfig, JsonNode specialMap) {
        Map<String, JsonNode> s = new LinkedHashMap<>();
        if (tokConfig != null) tokConfig.properties().forEach(e -> s.put(e.getKey(), e.getValue()));
        if (specialMap != null) specialMap.properties().forEach(e -> s.put(e.getKey(), e.getValue()));
        return s;
    }

    /** A special token given as a string or as an AddedToken object. */
    record TokenSpec(String content, boolean lstrip, boolean rstrip, boolean singleWord, boolean normalized,
                     boolean explicitFlags) {}

    static TokenSpec tokenSpec(JsonNode n) {
        if (n == null || n.isNull()) return null;
        if (n.isTextual()) return new TokenSpec(n.asText(), false, false, false, true, false);
        if (n.isObject() && n.hasNonNull("content")) {
            return new TokenSpec(n.get("content").asText(), n.path("lstrip").asBoolean(false),
                    n.path("rstrip").asBoolean(false), n.path("single_word").asBoolean(false),
                    n.path("normalized").asBoolean(true), true);
        }
        throw new TokenizerException("cannot read a special token from " + n);
    }

    private static Tokenizer bert(Vocab vocab, Map<String, JsonNode> s, JsonNode addedTokensJson) {
        boolean lower = bool(s, "do_lower_case", true);
        Boolean strip = s.get("strip_accents") == null || s.get("strip_accents").isNull()
                ? null : s.get("strip_accents").asBoolean();
        Set<String> neverSplit = new LinkedHashSet<>();
        if (s.get("never_split") != null && s.get("never_split").isArray()) {
            s.get("never_split").forEach(x -> neverSplit.add(x.asText()));
        }
        var options = new WordPieceModel.BasicOptions(bool(s, "do_basic_tokenize", true), true,
                bool(s, "tokenize_chinese_chars", true), lower, strip, neverSplit);
        Map<String, TokenSpec> roles = roles(s, Map.of("unk_token", "[UNK]", "sep_token", "[SEP]", "pad_token",
                "[PAD]", "cls_token", "[CLS]", "mask_token", "[MASK]"));
        TextModel model = new WordPieceModel(vocab, content(roles.get("unk_token")), "##", 100, options);
        Assembled a = assemble(Kind.BERT, vocab, roles, additional(s), addedTokensJson);
        int cls = a.idOf("cls_token");
        int sep = a.idOf("sep_token");
        PostProcessor post = cls >= 0 && sep >= 0 ? PostProcessor.bert(cls, sep) : PostProcessor.none();
        return new HfTokenizer("BertTokenizer (WordPiece)", model, a.added, post, a.roleStrings, a.additional,
                maxLength(s), paddingSide(s), bool(s, "clean_up_tokenization_spaces", true));
    }

    private static Tokenizer bpe(Kind kind, Vocab vocab, List<String[]> merges, Map<String, JsonNode> s,
                                 JsonNode addedTokensJson) {
        boolean prefixSpace = bool(s, "add_prefix_space", false);
        Map<String, String> defaults = kind == Kind.ROBERTA
                ? Map.of("bos_token", "<s>", "eos_token", "</s>", "sep_token", "</s>", "cls_token", "<s>",
                        "unk_token", "<unk>", "pad_token", "<pad>", "mask_token", "<mask>")
                : Map.of("bos_token", "<|endoftext|>", "eos_token", "<|endoftext|>", "unk_token", "<|endoftext|>");
        Map<String, TokenSpec> roles = roles(s, defaults);
        // RobertaTokenizer wraps a plain-string mask token into AddedToken(lstrip=True)
        TokenSpec mask = roles.get("mask_token");
        if (kind == Kind.ROBERTA && mask != null && !mask.explicitFlags()) {
            roles.put("mask_token", new TokenSpec(mask.content(), true, false, false, true, true));
        }
        // HF's converters: RoBERTa trims offsets (RobertaProcessing), GPT-2 does not (ByteLevel(trim_offsets=False))
        TextModel model = new BpeModel(vocab, merges, content(roles.get("unk_token")), prefixSpace,
                bool(s, "trim_offsets", kind == Kind.ROBERTA));
        Assembled a = assemble(kind, vocab, roles, additional(s), addedTokensJson);
        PostProcessor post = PostProcessor.none();
        if (kind == Kind.ROBERTA) {
            int cls = a.idOf("cls_token");
            int sep = a.idOf("sep_token");
            if (cls >= 0 && sep >= 0) post = PostProcessor.roberta(cls, sep);
        } else if (bool(s, "add_bos_token", false) && a.idOf("bos_token") >= 0) {
            // GPT2Tokenizer(add_bos_token=True): bos A, and bos A bos B
            int bos = a.idOf("bos_token");
            post = new PostProcessor(
                    List.of(PostProcessor.Piece.special(new int[] {bos}, 0), PostProcessor.Piece.seq(0, 0)),
                    List.of(PostProcessor.Piece.special(new int[] {bos}, 0), PostProcessor.Piece.seq(0, 0),
                            PostProcessor.Piece.special(new int[] {bos}, 1), PostProcessor.Piece.seq(1, 1)));
        }
        String name = kind == Kind.ROBERTA ? "RobertaTokenizer (byte-level BPE)" : "GPT2Tokenizer (byte-level BPE)";
        return new HfTokenizer(name, model, a.added, post, a.roleStrings, a.additional, maxLength(s),
                paddingSide(s), bool(s, "clean_up_tokenization_spaces", true));
    }

    /** Special tokens resolved to ids, plus the added-token list the text is split on. */
    record Assembled(List<AddedToken> added, Map<String, String> roleStrings, List<String> additional,
                     Map<String, Integer> ids) {
        int idOf(String role) {
            return ids.getOrDefault(role, -1);
        }
    }

    private static Assembled assemble(Kind kind, Vocab vocab, Map<String, TokenSpec> roles,
                                      List<TokenSpec> additional, JsonNode addedTokensJson) {
        Map<String, AddedToken> added = new LinkedHashMap<>();
        int nextId = vocab.idLimit();
        // added_tokens.json: {"token": id}; plain strings, which the slow tokenizer strips on both sides
        if (addedTokensJson != null && addedTokensJson.isObject()) {
            for (var e : addedTokensJson.properties()) {
                int id = e.getValue().asInt();
                boolean strip = kind != Kind.BERT;
                added.put(e.getKey(), new AddedToken(e.getKey(), id, false, strip, strip, false, true));
                nextId = Math.max(nextId, id + 1);
            }
        }
        Map<String, String> roleStrings = new LinkedHashMap<>();
        Map<String, Integer> ids = new HashMap<>();
        List<TokenSpec> specials = new ArrayList<>();
        for (String role : HfTokenizer.ROLES) {
            TokenSpec t = roles.get(role);
            if (t == null) continue;
            roleStrings.put(role, t.content());
            specials.add(t);
        }
        specials.addAll(additional);
        for (TokenSpec t : specials) {
            AddedToken existing = added.get(t.content());
            int id = existing != null ? existing.id() : vocab.id(t.content());
            if (id < 0) id = nextId++; // HF adds special tokens missing from the vocabulary after it
            // plain strings: no stripping (GPT2Tokenizer/RobertaTokenizer wrap them in AddedToken(lstrip=False,
            // rstrip=False); for BERT stripping makes no difference to the ids)
            boolean l = t.explicitFlags() && t.lstrip();
            boolean r = t.explicitFlags() && t.rstrip();
            added.put(t.content(), new AddedToken(t.content(), id, true, l, r, t.singleWord(), t.normalized()));
        }
        for (var e : roleStrings.entrySet()) ids.put(e.getKey(), added.get(e.getValue()).id());
        List<String> additionalStrings = additional.stream().map(TokenSpec::content).toList();
        return new Assembled(new ArrayList<>(added.values()), roleStrings, additionalStrings, ids);
    }

    static Map<String, TokenSpec> roles(Map<String, JsonNode> s, Map<String, String> defaults) {
        Map<String, TokenSpec> roles = new LinkedHashMap<>();
        for (String role : HfTokenizer.ROLES) {
            if (s.containsKey(role)) {
                TokenSpec t = tokenSpec(s.get(role));
                if (t != null) roles.put(role, t);
            } else if (defaults.containsKey(role)) {
                roles.put(role, new TokenSpec(defaults.get(role), false, false, false, true, false));
            }
        }
        return roles;
    }

    static List<TokenSpec> additional(Map<String, JsonNode> s) {
        List<TokenSpec> out = new ArrayList<>();
        JsonNode a = s.get("additional_special_tokens");
        if (a != null && a.isArray()) a.forEach(x -> out.add(tokenSpec(x)));
        return out;
    }

    private static String content(TokenSpec t) {
        return t == null ? null : t.content();
    }

    static boolean bool(Map<String, JsonNode> s, String key, boolean dflt) {
        JsonNode n = s.get(key);
        return n == null || n.isNull() ? dflt : n.asBoolean(dflt);
    }

    static int maxLength(Map<String, JsonNode> s) {
        JsonNode n = s.get("model_max_length");
        if (n == null || !n.isNumber()) return Integer.MAX_VALUE;
        double v = n.asDouble();
        return v >= Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) v; // HF writes 1e30 for "no limit"
    }

    static Side paddingSide(Map<String, JsonNode> s) {
        JsonNode n = s.get("padding_side");
        return n != null && "left".equalsIgnoreCase(n.asText()) ? Side.LEFT : Side.RIGHT;
    }

    // ---------------------------------------------------------------- file readers

    /**
     * {@code dir/name}, refused with a TokenizerException (before a byte is read) when it is a link
     * that leads out of the model folder: a vocab.txt linked to /etc/passwd must not become a vocabulary.
     */
    private static Path file(Path dir, String name) {
        Path p = dir.resolve(name);
        String escape = ModelFolder.escape(dir, p);
        if (escape != null) throw new TokenizerException(p + ": " + escape);
        return p;
    }

    private static Path require(Path p) {
        if (!Files.isRegularFile(p)) throw new TokenizerException("missing tokenizer file " + p);
        return p;
    }

    static JsonNode readJson(Path p) {
        try {
            return JSON.readTree(p.toFile());
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new TokenizerException(JsonErrors.message(p, e), e);
        } catch (IOException e) {
            throw new TokenizerException("cannot read JSON " + p + ": " + e.getMessage(), e);
        }
    }

    static JsonNode readJsonIfExists(Path p) {
        return Files.isRegularFile(p) ? readJson(p) : null;
    }

    /** vocab.txt: one token per line, id = line number (HF reads it with universal newlines). */
    static Vocab readVocabTxt(Path p) {
        Map<String, Integer> m = new HashMap<>();
        try (BufferedReader r = Files.newBufferedReader(p, StandardCharsets.UTF_8)) {
            String line;
            int i = 0;
            while ((line = r.readLine()) != null) m.put(line, i++);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new TokenizerException(p + " is not UTF-8 text: a vocab.txt holds one UTF-8 token a line", e);
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + p + ": " + e.getMessage(), e);
        }
        if (m.isEmpty()) throw new TokenizerException("empty vocabulary " + p);
        return new Vocab(m);
    }

    static Vocab readVocabJson(Path p) {
        JsonNode n = readJson(p);
        return new Vocab(vocabFromJson(n, p.toString()));
    }

    static Map<String, Integer> vocabFromJson(JsonNode n, String where) {
        if (n == null || !n.isObject()) throw new TokenizerException("vocabulary is not a JSON object: " + where);
        Map<String, Integer> m = new HashMap<>(n.size() * 2);
        for (var e : n.properties()) {
            if (!e.getValue().canConvertToInt()) throw new TokenizerException("bad id for " + e.getKey() + " in " + where);
            m.put(e.getKey(), e.getValue().asInt());
        }
        return m;
    }

    /**
     * merges.txt as HF's slow tokenizers read it: {@code read().split("\n")[1:-1]} (the first line is the
     * "#version" header; the last element, after the final newline, is dropped), each line split on whitespace.
     */
    static List<String[]> readMergesTxt(Path p) {
        String text;
        try {
            text = Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + p + ": " + e.getMessage(), e);
        }
        text = text.replace("\r\n", "\n").replace('\r', '\n'); // Python's universal newlines
        String[] lines = text.split("\n", -1);
        List<String[]> out = new ArrayList<>(Math.max(0, lines.length - 2));
        for (int i = 1; i < lines.length - 1; i++) {
            String[] parts = lines[i].strip().split("\\s+");
            if (parts.length != 2 || parts[0].isEmpty()) {
                throw new TokenizerException("line " + (i + 1) + " of " + p + " is not a merge \"a b\": " + lines[i]);
            }
            out.add(parts);
        }
        return out;
    }
}
