package dev.jformers.loaders.hub;

import dev.jformers.loaders.LoaderException;

/**
 * What went wrong talking to the Hugging Face Hub or reading its cache, as one line, with the
 * {@link Reason} a caller can branch on (for instance: fall back to another source when the
 * Hub is unreachable, but not when a checksum fails).
 */
public class HubException extends LoaderException {

    /** Why a download or a cache lookup failed. */
    public enum Reason {
        /** No such repository (or a private one we may not see). */
        REPO_NOT_FOUND,
        /** The repository exists but has no such branch, tag or commit. */
        REVISION_NOT_FOUND,
        /** The repository has no such file at that revision. */
        ENTRY_NOT_FOUND,
        /** 401/403: a gated or private repository, and no token (or one without access). */
        GATED,
        /** The Hub could not be reached, or the connection broke or stalled. */
        NETWORK,
        /** Offline mode (or no network) and the cache lacks what is needed. */
        NOT_CACHED,
        /** A downloaded file does not match its checksum or size. */
        INTEGRITY,
        /** Anything else: an unexpected HTTP status, a malformed id, a cache we cannot write. */
        OTHER
    }

    private final Reason reason;

    public HubException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public HubException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
