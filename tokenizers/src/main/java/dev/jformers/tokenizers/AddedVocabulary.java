package dev.jformers.tokenizers;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Finds added tokens in raw text (leftmost, then longest match) and splits the text around them. */
final class AddedVocabulary {
    /** A piece of the text: either an added token (token != null) or plain text for the model. */
    record Segment(int start, int end, AddedToken token) {}

    private final Map<String, AddedToken> byContent = new LinkedHashMap<>();
    private final Map<Integer, AddedToken> byId = new HashMap<>();
    /** Candidates by first char, longest first. */
    private final Map<Character, AddedToken[]> byFirstChar = new HashMap<>();

    AddedVocabulary(List<AddedToken> tokens) {
        for (AddedToken t : tokens) {
            byContent.put(t.content(), t);
            byId.putIfAbsent(t.id(), t);
        }
        Map<Character, List<AddedToken>> groups = new HashMap<>();
        for (AddedToken t : byContent.values()) groups.computeIfAbsent(t.content().charAt(0), k -> new ArrayList<>()).add(t);
        for (var e : groups.entrySet()) {
            e.getValue().sort(Comparator.comparingInt((AddedToken t) -> t.content().length()).reversed());
            byFirstChar.put(e.getKey(), e.getValue().toArray(new AddedToken[0]));
        }
    }

    List<AddedToken> tokens() {
        return List.copyOf(byContent.values());
    }

    AddedToken byContent(String content) {
        return byContent.get(content);
    }

    AddedToken byId(int id) {
        return byId.get(id);
    }

    boolean isEmpty() {
        return byContent.isEmpty();
    }

    /** Splits {@code text} into plain segments and added-token segments, in order. */
    List<Segment> split(String text) {
        List<Segment> out = new ArrayList<>();
        if (byFirstChar.isEmpty()) {
            if (!text.isEmpty()) out.add(new Segment(0, text.length(), null));
            return out;
        }
        int plainStart = 0;
        int i = 0;
        int n = text.length();
        while (i < n) {
            AddedToken[] cands = byFirstChar.get(text.charAt(i));
            AddedToken match = null;
            if (cands != null) {
                for (AddedToken t : cands) {
                    if (text.startsWith(t.content(), i) && (!t.singleWord() || isWordBoundary(text, i, i + t.content().length()))) {
                        match = t;
                        break;
                    }
                }
            }
            if (match == null) {
                i++;
                continue;
            }
            int ms = i;
            int me = i + match.content().length();
            int plainEnd = ms;
            if (match.lstrip()) {
                while (plainEnd > plainStart && UnicodeTables.isWhiteSpaceProperty(text.charAt(plainEnd - 1))) plainEnd--;
            }
            if (plainEnd > plainStart) out.add(new Segment(plainStart, plainEnd, null));
            out.add(new Segment(ms, me, match));
            i = me;
            if (match.rstrip()) {
                while (i < n && UnicodeTables.isWhiteSpaceProperty(text.charAt(i))) i++;
            }
            plainStart = i;
        }
        if (n > plainStart) out.add(new Segment(plainStart, n, null));
        return out;
    }

    private static boolean isWordBoundary(String text, int start, int end) {
        boolean before = start == 0 || !isWordChar(text.codePointBefore(start));
        boolean after = end == text.length() || !isWordChar(text.codePointAt(end));
        return before && after;
    }

    private static boolean isWordChar(int cp) {
        return Character.isLetterOrDigit(cp) || cp == '_';
    }
}
