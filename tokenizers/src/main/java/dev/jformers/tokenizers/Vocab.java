package dev.jformers.tokenizers;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

/** A model's vocabulary: token string to id and back. Immutable after construction. */
final class Vocab {
    private final Map<String, Integer> tokenToId;
    private final String[] idToToken;
    private final int maxTokenLength;

    Vocab(Map<String, Integer> tokenToId) {
        this.tokenToId = Collections.unmodifiableMap(new HashMap<>(tokenToId));
        int maxId = -1;
        int maxLen = 0;
        for (var e : tokenToId.entrySet()) {
            if (e.getValue() < 0) throw new TokenizerException("negative id " + e.getValue() + " for token " + e.getKey());
            maxId = Math.max(maxId, e.getValue());
            maxLen = Math.max(maxLen, e.getKey().length());
        }
        if (maxId > 50_000_000) throw new TokenizerException("vocabulary id too large: " + maxId);
        this.idToToken = new String[maxId + 1];
        for (var e : tokenToId.entrySet()) idToToken[e.getValue()] = e.getKey();
        this.maxTokenLength = maxLen;
    }

    /** Id of the token, or -1. */
    int id(String token) {
        Integer id = tokenToId.get(token);
        return id == null ? -1 : id;
    }

    /** Token of the id, or null. */
    String token(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    int size() {
        return tokenToId.size();
    }

    /** One past the largest id. */
    int idLimit() {
        return idToToken.length;
    }

    /** Length (UTF-16 units) of the longest token: bounds the WordPiece search. */
    int maxTokenLength() {
        return maxTokenLength;
    }

    Map<String, Integer> asMap() {
        return tokenToId;
    }
}
