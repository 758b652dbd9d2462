package dev.jformers.tokenizers;

import java.text.Normalizer;

/** Character classes as HF's tokenizers define them, on code points. */
final class UnicodeTables {
    private UnicodeTables() {}

    private static final String[] NFD_CACHE = new String[0x10000];

    /** Unicode White_Space (what Python's {@code regex} and Rust's {@code char::is_whitespace} call whitespace). */
    static boolean isWhiteSpaceProperty(int cp) {
        if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
        if (cp < 0x85) return false;
        return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028
                || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
    }

    /** BERT's {@code _is_control}: category C* except \t, \n, \r. */
    static boolean isBertControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        if (cp < 0x20 || cp == 0x7F) return true;
        if (cp < 0x80) return false;
        int t = Character.getType(cp);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.UNASSIGNED
                || t == Character.PRIVATE_USE || t == Character.SURROGATE;
    }

    /** BERT's {@code _is_punctuation}: all non-alphanumeric ASCII symbols, or category P*. */
    static boolean isBertPunctuation(int cp) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
            return true;
        }
        if (cp < 0x80) return false;
        int t = Character.getType(cp);
        return t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION
                || t == Character.START_PUNCTUATION || t == Character.END_PUNCTUATION
                || t == Character.INITIAL_QUOTE_PUNCTUATION || t == Character.FINAL_QUOTE_PUNCTUATION
                || t == Character.OTHER_PUNCTUATION;
    }

    /** BERT's {@code _is_chinese_char}: the CJK Unified Ideographs blocks (not Japanese kana or Hangul). */
    static boolean isChineseChar(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F)
                || (cp >= 0x2B820 && cp <= 0x2CEAF) || (cp >= 0xF900 && cp <= 0xFAFF)
                || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }

    /** Python's {@code str.lower()} of one code point (full case mapping: U+0130 gives two chars). */
    static String lower(int cp) {
        if (cp == 0x130) return "i\u0307";
        return Character.toString(Character.toLowerCase(cp));
    }

    /** NFD decomposition of one code point (cached for the BMP). */
    static String nfd(int cp) {
        if (cp < 0xC0) return Character.toString(cp);
        if (cp < 0x10000) {
            String s = NFD_CACHE[cp];
            if (s == null) {
                s = Normalizer.normalize(Character.toString(cp), Normalizer.Form.NFD);
                NFD_CACHE[cp] = s; // benign race: Strings are safely published
            }
            return s;
        }
        return Normalizer.normalize(Character.toString(cp), Normalizer.Form.NFD);
    }
}
