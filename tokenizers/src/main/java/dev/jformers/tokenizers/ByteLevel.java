package dev.jformers.tokenizers;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * GPT-2's byte-level pieces: the byte-to-unicode table and the pre-tokenization regex
 * {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+}, implemented as a scanner
 * (linear time, no backtracking, no regex engine).
 */
final class ByteLevel {
    private ByteLevel() {}

    /** Byte value to the printable char GPT-2 uses for it (e.g. 0x20 to 'Ġ'). */
    static final char[] BYTE_TO_CHAR = new char[256];
    /** Inverse of BYTE_TO_CHAR: char to byte value, -1 for chars that are no byte. */
    static final int[] CHAR_TO_BYTE = new int[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) printable[b] = true;
        int n = 0;
        for (int b = 0; b < 256; b++) {
            char c = printable[b] ? (char) b : (char) (256 + n++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    static final int WS = 0, LETTER = 1, NUMBER = 2, OTHER = 3;
    private static final byte[] ASCII_CLASS = new byte[128];

    static {
        for (int c = 0; c < 128; c++) ASCII_CLASS[c] = (byte) classify(c);
    }

    private static int classify(int cp) {
        if (UnicodeTables.isWhiteSpaceProperty(cp)) return WS;
        if (Character.isLetter(cp)) return LETTER;
        int t = Character.getType(cp);
        if (t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER) {
            return NUMBER;
        }
        return OTHER;
    }

    static int classOf(int cp) {
        return cp < 128 ? ASCII_CLASS[cp] : classify(cp);
    }

    /** End (exclusive) of the pre-token that starts at {@code i} in {@code s[.., end)}. */
    static int nextPreToken(CharSequence s, int i, int end) {
        char c = s.charAt(i);
        if (c == '\'' && i + 1 < end) {
            char d = s.charAt(i + 1);
            if (d == 's' || d == 't' || d == 'm' || d == 'd') return i + 2;
            if (i + 2 < end) {
                char e = s.charAt(i + 2);
                if ((d == 'r' && e == 'e') || (d == 'v' && e == 'e') || (d == 'l' && e == 'l')) return i + 3;
            }
        }
        int j = i;
        if (c == ' ' && i + 1 < end && classOf(codePointAt(s, i + 1, end)) != WS) j = i + 1;
        int cp = codePointAt(s, j, end);
        int cls = classOf(cp);
        if (cls != WS) {
            int k = j + Character.charCount(cp);
            while (k < end) {
                int cp2 = codePointAt(s, k, end);
                if (classOf(cp2) != cls) break;
                k += Character.charCount(cp2);
            }
            return Math.min(k, end);
        }
        // a whitespace run; all White_Space chars are single UTF-16 units
        int r = i + 1;
        while (r < end && classOf(codePointAt(s, r, end)) == WS) r++;
        if (r == end) return r;           // \s+ up to the end
        if (r - 1 > i) return r - 1;      // \s+(?!\S): leave the last space to the next word
        return r;                         // \s+: a single whitespace char before a word
    }

    private static int codePointAt(CharSequence s, int i, int end) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c) && i + 1 < end) {
            char d = s.charAt(i + 1);
            if (Character.isLowSurrogate(d)) return Character.toCodePoint(c, d);
        }
        return c;
    }

    /** Number of UTF-8 bytes of a code point; a lone surrogate is encoded as U+FFFD (3 bytes). */
    static int utf8Length(int cp) {
        if (cp < 0x80) return 1;
        if (cp < 0x800) return 2;
        if (cp < 0x10000) return 3;
        return 4;
    }

    /**
     * UTF-8 bytes of {@code s[from, to)} into {@code out}; lone surrogates become U+FFFD (Java and Python would
     * fail or write '?': a replacement char keeps the text tokenizable and its offsets intact).
     * Returns the number of bytes written.
     */
    static int utf8(CharSequence s, int from, int to, byte[] out) {
        int n = 0;
        int i = from;
        while (i < to) {
            int cp = codePointAt(s, i, to);
            i += Character.charCount(cp);
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
            if (cp < 0x80) {
                out[n++] = (byte) cp;
            } else if (cp < 0x800) {
                out[n++] = (byte) (0xC0 | (cp >> 6));
                out[n++] = (byte) (0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                out[n++] = (byte) (0xE0 | (cp >> 12));
                out[n++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                out[n++] = (byte) (0x80 | (cp & 0x3F));
            } else {
                out[n++] = (byte) (0xF0 | (cp >> 18));
                out[n++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                out[n++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                out[n++] = (byte) (0x80 | (cp & 0x3F));
            }
        }
        return n;
    }

    /** Byte-level token text back to a string: bytes decoded as UTF-8, invalid sequences as U+FFFD. */
    static String decode(CharSequence byteChars) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(byteChars.length());
        for (int i = 0; i < byteChars.length(); i++) {
            char c = byteChars.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b >= 0) {
                bytes.write(b);
            } else { // not a byte char (an added token's text): keep it as it is
                int cp = Character.codePointAt(byteChars, i);
                if (Character.charCount(cp) == 2) i++;
                byte[] u = Character.toString(cp).getBytes(StandardCharsets.UTF_8);
                bytes.write(u, 0, u.length);
            }
        }
        return decodeUtf8(bytes.toByteArray());
    }

    /**
     * UTF-8 decoding with Python's {@code errors="replace"}: each maximal invalid subsequence becomes one U+FFFD
     * (Java's decoder groups some of them differently, e.g. an encoded surrogate).
     */
    static String decodeUtf8(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length);
        int n = b.length;
        int i = 0;
        while (i < n) {
            int c = b[i] & 0xFF;
            if (c < 0x80) {
                sb.append((char) c);
                i++;
                continue;
            }
            int need;
            int lo = 0x80;
            int hi = 0xBF;
            if (c >= 0xC2 && c <= 0xDF) {
                need = 1;
            } else if (c >= 0xE0 && c <= 0xEF) {
                need = 2;
                if (c == 0xE0) lo = 0xA0;
                if (c == 0xED) hi = 0x9F; // no surrogates
            } else if (c >= 0xF0 && c <= 0xF4) {
                need = 3;
                if (c == 0xF0) lo = 0x90;
                if (c == 0xF4) hi = 0x8F; // nothing above U+10FFFF
            } else {
                sb.append('\uFFFD');
                i++;
                continue;
            }
            int cp = c & (need == 1 ? 0x1F : need == 2 ? 0x0F : 0x07);
            int j = i + 1;
            boolean ok = true;
            for (int k = 0; k < need; k++) {
                if (j >= n) {
                    ok = false;
                    break;
                }
                int d = b[j] & 0xFF;
                if (d < (k == 0 ? lo : 0x80) || d > (k == 0 ? hi : 0xBF)) {
                    ok = false;
                    break;
                }
                cp = (cp << 6) | (d & 0x3F);
                j++;
            }
            if (ok) sb.appendCodePoint(cp);
            else sb.append('\uFFFD');
            i = j; // the offending byte, if any, starts the next sequence
        }
        return sb.toString();
    }
}
