package dev.jformers.tokenizers;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * Reads HF's {@code tokenizer.json} (the fast-tokenizer file) in the shapes BERT, MiniLM, RoBERTa and GPT-2 use:
 * BertNormalizer, BertPreTokenizer / ByteLevel, WordPiece / BPE models, TemplateProcessing, BertProcessing,
 * RobertaProcessing and ByteLevel post-processors. Anything else raises a {@link TokenizerException} naming it.
 *
 * <p>The file's "truncation" and "padding" blocks are not applied: transformers resets them on every call, and
 * here {@link EncodeOptions} says how to truncate and pad (only the padding direction is used as a default).
 */
final class TokenizerJson {
    private TokenizerJson() {}

    static Tokenizer load(JsonNode root, AutoTokenizer.Kind kindHint, JsonNode tokConfig, JsonNode specialMap) {
        JsonNode modelNode = root.path("model");
        String modelType = modelNode.path("type").asText(modelNode.has("merges") ? "BPE" : "WordPiece");
        Map<String, JsonNode> settings = AutoTokenizer.settings(tokConfig, specialMap);

        // added tokens, ids as given
        List<AddedToken> added = new ArrayList<>();
        for (JsonNode t : root.path("added_tokens")) {
            added.add(new AddedToken(t.path("content").asText(), t.path("id").asInt(), t.path("special").asBoolean(false),
                    t.path("lstrip").asBoolean(false), t.path("rstrip").asBoolean(false),
                    t.path("single_word").asBoolean(false), t.path("normalized").asBoolean(false)));
        }

        // post-processor
        PostProcessor post = PostProcessor.none();
        Boolean trimOffsets = null;
        List<JsonNode> processors = new ArrayList<>();
        JsonNode pp = root.path("post_processor");
        if ("Sequence".equals(pp.path("type").asText())) pp.path("processors").forEach(processors::add);
        else if (!pp.isMissingNode() && !pp.isNull()) processors.add(pp);
        for (JsonNode p : processors) {
            String type = p.path("type").asText();
            switch (type) {
                case "TemplateProcessing" -> post = template(p);
                case "BertProcessing" -> post = PostProcessor.bert(specialId(p, type, "cls"), specialId(p, type, "sep"));
                case "RobertaProcessing" -> {
                    post = PostProcessor.roberta(specialId(p, type, "cls"), specialId(p, type, "sep"));
                    trimOffsets = p.path("trim_offsets").asBoolean(true);
                }
                case "ByteLevel" -> trimOffsets = p.path("trim_offsets").asBoolean(true);
                default -> throw new TokenizerException("unsupported post_processor type " + type);
            }
        }

        TextModel model;
        AutoTokenizer.Kind kind;
        Map<String, Integer> vocabMap = AutoTokenizer.vocabFromJson(modelNode.path("vocab"), "tokenizer.json model.vocab");
        Vocab vocab = new Vocab(vocabMap);
        switch (modelType) {
            case "WordPiece" -> {
                kind = AutoTokenizer.Kind.BERT;
                model = new WordPieceModel(vocab, text(modelNode, "unk_token", "[UNK]"),
                        text(modelNode, "continuing_subword_prefix", "##"),
                        modelNode.path("max_input_chars_per_word").asInt(100), withConfig(basicOptions(root), settings));
            }
            case "BPE" -> {
                boolean prefixSpace = byteLevelPreTokenizer(root);
                // GPT2TokenizerFast / RobertaTokenizerFast rebuild the pre-tokenizer from tokenizer_config.json
                prefixSpace = AutoTokenizer.bool(settings, "add_prefix_space", prefixSpace);
                if (settings.containsKey("trim_offsets") && trimOffsets != null) {
                    trimOffsets = AutoTokenizer.bool(settings, "trim_offsets", trimOffsets);
                }
                if (!root.path("normalizer").isNull() && !root.path("normalizer").isMissingNode()) {
                    throw new TokenizerException("unsupported normalizer for byte-level BPE: "
                            + root.path("normalizer").path("type").asText());
                }
                if (modelNode.path("dropout").isNumber() && modelNode.path("dropout").asDouble() > 0) {
                    throw new TokenizerException("BPE dropout is not supported (it makes encoding random)");
                }
                if (modelNode.path("byte_fallback").asBoolean(false)
                        || !modelNode.path("continuing_subword_prefix").asText("").isEmpty()
                        || !modelNode.path("end_of_word_suffix").asText("").isEmpty()) {
                    throw new TokenizerException("unsupported BPE options (byte_fallback, continuing_subword_prefix "
                            + "or end_of_word_suffix): only GPT-2 style byte-level BPE is implemented");
                }
                List<String[]> merges = new ArrayList<>();
                for (JsonNode m : modelNode.path("merges")) {
                    if (m.isArray() && m.size() == 2) {
                        merges.add(new String[] {m.get(0).asText(), m.get(1).asText()});
                    } else {
                        String s = m.asText();
                        int sp = s.indexOf(' ');
                        if (sp <= 0 || sp == s.length() - 1) throw new TokenizerException("bad merge \"" + s + "\"");
                        merges.add(new String[] {s.substring(0, sp), s.substring(sp + 1)});
                    }
                }
                String unk = modelNode.path("unk_token").isTextual() ? modelNode.path("unk_token").asText() : null;
                kind = vocabMap.containsKey("<s>") || kindHint == AutoTokenizer.Kind.ROBERTA
                        ? AutoTokenizer.Kind.ROBERTA : AutoTokenizer.Kind.GPT2;
                if (kindHint == AutoTokenizer.Kind.GPT2) kind = AutoTokenizer.Kind.GPT2;
                boolean trim = trimOffsets != null ? trimOffsets : kind == AutoTokenizer.Kind.ROBERTA;
                model = new BpeModel(vocab, merges, unk, prefixSpace, trim);
            }
            default -> throw new TokenizerException("unsupported tokenizer.json model type " + modelType);
        }

        // special-token roles: from tokenizer_config.json / special_tokens_map.json, else the family's defaults
        Map<String, String> defaults = switch (kind) {
            case BERT -> Map.of("unk_token", "[UNK]", "sep_token", "[SEP]", "pad_token", "[PAD]", "cls_token",
                    "[CLS]", "mask_token", "[MASK]");
            case ROBERTA -> Map.of("bos_token", "<s>", "eos_token", "</s>", "sep_token", "</s>", "cls_token", "<s>",
                    "unk_token", "<unk>", "pad_token", "<pad>", "mask_token", "<mask>");
            case GPT2 -> Map.of("bos_token", "<|endoftext|>", "eos_token", "<|endoftext|>", "unk_token",
                    "<|endoftext|>");
        };
        Map<String, AutoTokenizer.TokenSpec> roles = AutoTokenizer.roles(settings, defaults);
        Map<String, String> roleStrings = new LinkedHashMap<>();
        Map<String, Integer> addedIds = new HashMap<>();
        for (AddedToken t : added) addedIds.put(t.content(), t.id());
        for (var e : roles.entrySet()) {
            String c = e.getValue().content();
            if (addedIds.containsKey(c) || vocabMap.containsKey(c)) roleStrings.put(e.getKey(), c);
        }
        List<String> additional = new ArrayList<>();
        for (AutoTokenizer.TokenSpec t : AutoTokenizer.additional(settings)) additional.add(t.content());
        // special tokens named by the config but missing from added_tokens are still matched in text
        LinkedHashSet<String> present = new LinkedHashSet<>();
        for (AddedToken t : added) present.add(t.content());
        for (String c : roleStrings.values()) {
            if (!present.contains(c)) {
                added.add(new AddedToken(c, vocabMap.get(c), true, false, false, false, false));
                present.add(c);
            }
        }
        Side side = AutoTokenizer.paddingSide(settings);
        if (!settings.containsKey("padding_side") && "Left".equals(root.path("padding").path("direction").asText())) {
            side = Side.LEFT;
        }
        String name = (kind == AutoTokenizer.Kind.BERT ? "WordPiece" : "byte-level BPE") + " (tokenizer.json)";
        return new HfTokenizer(name, model, added, post, roleStrings, additional, AutoTokenizer.maxLength(settings),
                side, AutoTokenizer.bool(settings, "clean_up_tokenization_spaces", true));
    }

    private static String text(JsonNode n, String field, String dflt) {
        JsonNode v = n.path(field);
        return v.isTextual() ? v.asText() : dflt;
    }

    /** BertNormalizer (or Lowercase / NFD + StripAccents) and BertPreTokenizer, as basic-tokenizer options. */
    private static WordPieceModel.BasicOptions basicOptions(JsonNode root) {
        JsonNode pre = root.path("pre_tokenizer");
        String preType = pre.path("type").asText("");
        if ("Sequence".equals(preType) && pre.path("pretokenizers").size() == 1) {
            pre = pre.path("pretokenizers").get(0);
            preType = pre.path("type").asText("");
        }
        boolean basic;
        switch (preType) {
            case "BertPreTokenizer" -> basic = true;
            case "WhitespaceSplit", "" -> basic = false;
            default -> throw new TokenizerException("unsupported pre_tokenizer for WordPiece: " + preType);
        }
        boolean clean = false, chinese = false, lower = false;
        Boolean strip = false;
        List<JsonNode> norms = new ArrayList<>();
        JsonNode n = root.path("normalizer");
        if ("Sequence".equals(n.path("type").asText())) n.path("normalizers").forEach(norms::add);
        else if (!n.isMissingNode() && !n.isNull()) norms.add(n);
        for (JsonNode x : norms) {
            String t = x.path("type").asText();
            switch (t) {
                case "BertNormalizer" -> {
                    clean = x.path("clean_text").asBoolean(true);
                    chinese = x.path("handle_chinese_chars").asBoolean(true);
                    lower = x.path("lowercase").asBoolean(true);
                    strip = x.path("strip_accents").isBoolean() ? x.path("strip_accents").asBoolean() : null;
                }
                case "Lowercase" -> lower = true;
                case "StripAccents" -> strip = true;
                case "NFD" -> { } // only meaningful with StripAccents, which decomposes itself
                default -> throw new TokenizerException("unsupported normalizer for WordPiece: " + t);
            }
        }
        if (!basic && (clean || chinese || lower || Boolean.TRUE.equals(strip))) {
            throw new TokenizerException("a normalizer without BertPreTokenizer is not supported for WordPiece");
        }
        return new WordPieceModel.BasicOptions(basic, clean, chinese, lower, strip, java.util.Set.of());
    }

    /**
     * BertTokenizerFast rebuilds the normalizer when tokenizer_config.json disagrees with tokenizer.json about
     * do_lower_case, strip_accents or tokenize_chinese_chars; here only keys the config actually has count.
     */
    private static WordPieceModel.BasicOptions withConfig(WordPieceModel.BasicOptions o, Map<String, JsonNode> s) {
        if (!o.basicTokenize()) return o;
        boolean lower = AutoTokenizer.bool(s, "do_lower_case", o.lowercase());
        boolean chinese = AutoTokenizer.bool(s, "tokenize_chinese_chars", o.handleChineseChars());
        Boolean strip = o.stripAccents();
        if (s.containsKey("strip_accents")) {
            JsonNode n = s.get("strip_accents");
            strip = n == null || n.isNull() ? null : n.asBoolean();
        }
        return new WordPieceModel.BasicOptions(true, o.cleanText(), chinese, lower, strip, o.neverSplit());
    }

    /** The ByteLevel pre-tokenizer (alone or in a Sequence); returns its add_prefix_space. */
    private static boolean byteLevelPreTokenizer(JsonNode root) {
        JsonNode pre = root.path("pre_tokenizer");
        if ("Sequence".equals(pre.path("type").asText()) && pre.path("pretokenizers").size() == 1) {
            pre = pre.path("pretokenizers").get(0);
        }
        if (!"ByteLevel".equals(pre.path("type").asText())) {
            throw new TokenizerException("unsupported pre_tokenizer for BPE: " + pre.path("type").asText("none")
                    + " (only GPT-2's ByteLevel)");
        }
        if (!pre.path("use_regex").asBoolean(true)) {
            throw new TokenizerException("ByteLevel pre-tokenizer without its regex is not supported");
        }
        return pre.path("add_prefix_space").asBoolean(false);
    }

    private static PostProcessor template(JsonNode p) {
        Map<String, int[]> specials = new HashMap<>();
        p.path("special_tokens").properties().forEach(e -> {
            JsonNode ids = e.getValue().path("ids");
            int[] a = new int[ids.size()];
            for (int i = 0; i < a.length; i++) a[i] = ids.get(i).asInt();
            specials.put(e.getKey(), a);
        });
        return new PostProcessor(pieces(p.path("single"), specials), pieces(p.path("pair"), specials));
    }

    private static List<PostProcessor.Piece> pieces(JsonNode list, Map<String, int[]> specials) {
        List<PostProcessor.Piece> out = new ArrayList<>();
        for (JsonNode item : list) {
            if (item.has("Sequence")) {
                JsonNode s = item.get("Sequence");
                out.add(PostProcessor.Piece.seq("B".equals(s.path("id").asText()) ? 1 : 0, s.path("type_id").asInt()));
            } else if (item.has("SpecialToken")) {
                JsonNode s = item.get("SpecialToken");
                int[] ids = specials.get(s.path("id").asText());
                if (ids == null) throw new TokenizerException("template names unknown special token " + s.path("id"));
                out.add(PostProcessor.Piece.special(ids, s.path("type_id").asInt()));
            } else {
                throw new TokenizerException("bad template item " + item);
            }
        }
        return out;
    }

    /** The id of BertProcessing's / RobertaProcessing's {@code "cls": ["[CLS]", 101]}, checked (a missing one used to be a NullPointerException). */
    private static int specialId(JsonNode processor, String type, String field) {
        JsonNode n = processor.path(field);
        if (!n.isArray() || n.size() != 2 || !n.get(1).canConvertToInt() || !n.get(1).isIntegralNumber()) {
            throw new TokenizerException(type + " post_processor needs \"" + field + "\": [token, id]");
        }
        return n.get(1).asInt();
    }
}
