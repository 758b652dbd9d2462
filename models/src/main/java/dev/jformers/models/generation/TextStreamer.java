package dev.jformers.models.generation;

import dev.jformers.tokenizers.Tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * HF's {@code TextStreamer} as a {@link Generator.TokenListener}: decodes the tokens of one row as they come and
 * hands on whole words — text up to the last space, everything at a newline or after a CJK character — so that a
 * piece never ends inside a word or inside a character whose bytes are still incomplete (a decoded U+FFFD at the end
 * is held back). {@link #end()} flushes the rest. One row only (HF's streamer refuses batches and beams too).
 */
public final class TextStreamer implements Generator.TokenListener {
    private final Tokenizer tokenizer;
    private final boolean cleanUpTokenizationSpaces;
    private final Consumer<String> out;
    private final List<Integer> cache = new ArrayList<>();
    private int printed;

    public TextStreamer(Tokenizer tokenizer, boolean cleanUpTokenizationSpaces, Consumer<String> out) {
        this.tokenizer = tokenizer;
        this.cleanUpTokenizationSpaces = cleanUpTokenizationSpaces;
        this.out = out;
    }

    @Override
    public void onStep(int step, long[] newTokens) {
        if (newTokens.length != 1) {
            throw new GenerationException("the text streamer follows one sequence; this generation makes " + newTokens.length);
        }
        cache.add((int) newTokens[0]);
        String text = decode();
        String piece;
        if (text.endsWith("\n")) {
            piece = text.substring(Math.min(printed, text.length()));
            cache.clear();
            printed = 0;
        } else if (!text.isEmpty() && !text.endsWith("\uFFFD") && isCjk(text.codePointBefore(text.length()))) {
            piece = text.substring(Math.min(printed, text.length()));
            printed += piece.length();
        } else {
            int end = text.lastIndexOf(' ') + 1;
            piece = end > printed ? text.substring(printed, end) : "";
            printed += piece.length();
        }
        if (!piece.isEmpty()) {
            out.accept(piece);
        }
    }

    /** The text not handed on yet (call once generation has ended). */
    public void end() {
        if (!cache.isEmpty()) {
            String text = decode();
            if (text.length() > printed) {
                out.accept(text.substring(printed));
            }
        }
        cache.clear();
        printed = 0;
    }

    private String decode() {
        int[] ids = new int[cache.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = cache.get(i);
        }
        return tokenizer.decode(ids, true, cleanUpTokenizationSpaces);
    }

    /** HF's {@code _is_chinese_char}: the CJK ideograph blocks. */
    static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
