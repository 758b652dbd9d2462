package dev.jformers.loaders.hub;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * Downloads model repositories from the Hugging Face Hub into the shared HF cache ({@link HubCache}),
 * the way huggingface_hub does, so that what Python downloaded is reused and what this writes
 * Python can use.
 *
 * <p>{@link #snapshot(String, String)} fetches config.json, the tokenizer files that exist and one
 * weight format (the first of {@link #WEIGHT_FILES} the repository has, with every shard its index
 * names) and returns the snapshot folder. Per file: {@code HEAD {endpoint}/{repo}/resolve/{revision}/{file}}
 * (no redirects followed) gives the commit ({@code X-Repo-Commit}), the ETag ({@code X-Linked-Etag}
 * for LFS files, else {@code ETag}), the size and, on a redirect, where the bytes are; a
 * {@code GET} then streams them into {@code blobs/ETAG.incomplete} (resumed with {@code Range}
 * when a partial file is there, retried on a broken connection), LFS files are checked against
 * their sha256, and the blob is renamed into place and linked from {@code snapshots/COMMIT/FILE}.
 * The token goes only to the endpoint's own origin, never to a redirect target elsewhere.
 *
 * <p>Offline ({@code HF_HUB_OFFLINE=1}), or when the Hub cannot be reached, the cache answers
 * alone: {@code refs/REVISION} → {@code snapshots/COMMIT}.
 */
public final class HubClient {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    public static final String DEFAULT_REVISION = "main";

    /** Tokenizer and generation files fetched when the repository has them. */
    public static final List<String> OPTIONAL_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "added_tokens.json",
            "generation_config.json");

    /** Weight files in order of preference; the first one present is fetched (with its shards for an index). */
    public static final List<String> WEIGHT_FILES = List.of("model.safetensors", "model.safetensors.index.json",
            "pytorch_model.bin", "pytorch_model.bin.index.json");

    private static final Pattern SHA256 = Pattern.compile("^[0-9a-f]{64}$");
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "jformers-hub-watchdog");
        t.setDaemon(true);
        return t;
    });

    private final URI endpoint;
    private final HubCache cache;
    private final String token;
    private final boolean offline;
    private final Duration connectTimeout;
    private final Duration readTimeout;
    private final int retries;
    private final DownloadProgress progress;
    private HttpClient http;          // created on first request: building one costs a noticeable fraction of a second

    private HubClient(Builder b) {
        this.endpoint = URI.create(stripSlash(b.endpoint));
        this.cache = new HubCache(b.cacheDir);
        this.token = b.token == null || b.token.isBlank() ? null : b.token.strip();
        this.offline = b.offline;
        this.connectTimeout = b.connectTimeout;
        this.readTimeout = b.readTimeout;
        this.retries = b.retries;
        this.progress = b.progress;
    }

    private synchronized HttpClient http() {
        if (http == null) {
            http = HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .followRedirects(HttpClient.Redirect.NEVER)    // redirects are followed by hand (token per origin)
                    .connectTimeout(connectTimeout)
                    .build();
        }
        return http;
    }

    private static String stripSlash(String s) {
        while (s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        return s;
    }

    /** A client configured like huggingface_hub from this process's environment ({@link HubEnvironment}). */
    public static HubClient fromEnvironment() {
        return builder(HubEnvironment.current()).build();
    }

    /** A builder with the defaults: public Hub, {@code ~/.cache/huggingface/hub}, no token, online. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder preset from {@code env} (endpoint, cache, token, offline), to adjust further. */
    public static Builder builder(HubEnvironment env) {
        return new Builder().endpoint(env.endpoint()).cacheDir(env.cacheDir()).token(env.token()).offline(env.offline());
    }

    public HubCache cache() {
        return cache;
    }

    public boolean offline() {
        return offline;
    }

    public String endpoint() {
        return endpoint.toString();
    }

    // ------------------------------------------------------------------------------ snapshots

    /** {@link #snapshot(String, String)} at {@code main}. */
    public Path snapshot(String repoId) {
        return snapshot(repoId, null);
    }

    /**
     * The local snapshot folder of {@code repoId} at {@code revision} (branch, tag or commit;
     * null means {@code main}) holding config.json, the tokenizer files the repository has and
     * its weights, downloading what the cache lacks.
     */
    public Path snapshot(String repoId, String revision) {
        RepoId repo = new RepoId(repoId);
        String rev = checkRevision(revision);
        if (offline) {
            return cachedOrThrow(repo, rev, "offline mode (HF_HUB_OFFLINE=1)", null);
        }
        if (RepoId.isCommitHash(rev)) {
            Path cached = cache.find(repo, rev);
            if (cached != null) {
                return cached;          // a commit never changes: no need to ask
            }
        }
        try {
            return fetchSnapshot(repo, rev);
        } catch (HubException e) {
            if (e.reason() != HubException.Reason.NETWORK) {
                throw e;
            }
            Path cached = cache.find(repo, rev);
            if (cached == null) {
                throw cachedOrThrowException(repo, rev, e.getMessage(), e);
            }
            progress.note("jformers: " + e.getMessage() + "; using the cached snapshot " + cached);
            return cached;
        }
    }

    private Path cachedOrThrow(RepoId repo, String rev, String why, Throwable cause) {
        Path cached = cache.find(repo, rev);
        if (cached != null) {
            return cached;
        }
        throw cachedOrThrowException(repo, rev, why, cause);
    }

    private HubException cachedOrThrowException(RepoId repo, String rev, String why, Throwable cause) {
        List<String> missing = cache.missing(repo, rev);
        HubException.Reason reason = cause instanceof HubException h ? h.reason() : HubException.Reason.NOT_CACHED;
        return new HubException(reason, why + "; the Hugging Face cache " + cache.root() + " has no usable copy of '"
                + repo + "' at revision '" + rev + "' (" + String.join("; ", missing) + ")", cause);
    }

    private Path fetchSnapshot(RepoId repo, String rev) {
        FileMeta config;
        try {
            config = head(repo, rev, "config.json");
        } catch (HubException e) {
            if (e.reason() == HubException.Reason.ENTRY_NOT_FOUND) {
                throw new HubException(e.reason(), "repository '" + repo + "' has no config.json at revision '" + rev
                        + "' (not a transformers model?)", e);
            }
            throw e;
        }
        String commit = config.commit();
        try {
            if (!rev.equals(commit)) {
                cache.writeRef(repo, rev, commit);
            }
        } catch (IOException e) {
            throw cacheError(cache.repoDir(repo), e);
        }
        fetch(repo, commit, "config.json", config);
        for (String f : OPTIONAL_FILES) {
            fetchIfPresent(repo, commit, f);
        }
        for (String w : WEIGHT_FILES) {
            Path got = fetchIfPresent(repo, commit, w);
            if (got == null) {
                continue;
            }
            if (w.endsWith(".index.json")) {
                for (String shard : HubCache.shards(got)) {
                    fetch(repo, commit, shard, null);
                }
            }
            return cache.snapshotDir(repo, commit);
        }
        throw new HubException(HubException.Reason.ENTRY_NOT_FOUND, "repository '" + repo + "' has no weights at revision '"
                + rev + "' (looked for " + String.join(", ", WEIGHT_FILES) + ")");
    }

    /** The file's path in the snapshot, or null when the repository does not have it. */
    private Path fetchIfPresent(RepoId repo, String commit, String file) {
        Path pointer = cache.pointer(repo, commit, file);
        if (Files.exists(pointer)) {
            return pointer;
        }
        if (cache.knownMissing(repo, commit, file)) {
            return null;
        }
        FileMeta meta;
        try {
            meta = head(repo, commit, file);
        } catch (HubException e) {
            if (e.reason() == HubException.Reason.ENTRY_NOT_FOUND) {
                cache.markNoExist(repo, commit, file);
                return null;
            }
            throw e;
        }
        return fetch(repo, commit, file, meta);
    }

    /**
     * One file of the repository at {@code commit}, downloaded when the cache lacks it; returns its
     * path in the snapshot folder.
     */
    public Path download(String repoId, String revision, String file) {
        RepoId repo = new RepoId(repoId);
        String rev = checkRevision(revision);
        checkFileName(file);
        String commit = cache.commitFor(repo, rev);
        if (offline) {
            Path p = commit == null ? null : cache.pointer(repo, commit, file);
            if (p == null || !Files.exists(p)) {
                throw new HubException(HubException.Reason.NOT_CACHED, "offline mode (HF_HUB_OFFLINE=1): " + file + " of '"
                        + repo + "' at revision '" + rev + "' is not in the cache " + cache.root());
            }
            return p;
        }
        if (RepoId.isCommitHash(rev) && Files.exists(cache.pointer(repo, rev, file))) {
            return cache.pointer(repo, rev, file);
        }
        FileMeta meta;
        try {
            meta = head(repo, rev, file);
        } catch (HubException e) {
            Path cached = commit == null ? null : cache.pointer(repo, commit, file);
            if (e.reason() != HubException.Reason.NETWORK || cached == null || !Files.exists(cached)) {
                throw e;
            }
            progress.note("jformers: " + e.getMessage() + "; using the cached " + cached);
            return cached;
        }
        try {
            if (!rev.equals(meta.commit())) {
                cache.writeRef(repo, rev, meta.commit());
            }
        } catch (IOException e) {
            throw cacheError(cache.repoDir(repo), e);
        }
        return fetch(repo, meta.commit(), file, meta);
    }

    /** {@code revision}, or {@code main} when null; rejects names that would leave {@code refs/}. */
    static String checkRevision(String revision) {
        String rev = revision == null || revision.isBlank() ? DEFAULT_REVISION : revision.strip();
        if (rev.startsWith("/") || rev.contains("\\") || List.of(rev.split("/")).contains("..") || rev.indexOf(0) >= 0) {
            throw new HubException(HubException.Reason.OTHER, "invalid revision '" + rev + "'");
        }
        return rev;
    }

    private static void checkFileName(String file) {
        if (file == null || file.isEmpty() || file.startsWith("/") || file.contains("\\") || List.of(file.split("/")).contains("..")) {
            throw new HubException(HubException.Reason.OTHER, "invalid file name '" + file + "'");
        }
    }

    /** Makes {@code snapshots/COMMIT/FILE} exist; {@code meta} may be null (then it is asked for). */
    @SuppressWarnings("try") // the lock is held for the block's duration, never read
    private Path fetch(RepoId repo, String commit, String file, FileMeta meta) {
        checkFileName(file);
        Path pointer = cache.pointer(repo, commit, file);
        if (Files.exists(pointer)) {
            return pointer;
        }
        if (meta == null) {
            meta = head(repo, commit, file);
        }
        Path blob = cache.blob(repo, meta.etag());
        try (CacheLock lock = CacheLock.acquire(cache.lockFile(repo, meta.etag()))) {
            if (!Files.exists(blob)) {
                Files.createDirectories(blob.getParent());
                downloadBlob(repo, file, meta, blob);
            }
            cache.link(blob, pointer);
        } catch (IOException e) {
            throw cacheError(blob, e);
        }
        return pointer;
    }

    private static HubException cacheError(Path where, IOException e) {
        return new HubException(HubException.Reason.OTHER, "cannot write the Hugging Face cache at " + where + ": "
                + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage()), e);
    }

    // ------------------------------------------------------------------------------ HTTP

    /** What a HEAD on the resolve URL says about one file. {@code size} is -1 when unknown. */
    record FileMeta(String commit, String etag, long size, URI location) {
    }

    URI resolveUri(RepoId repo, String revision, String file) {
        return URI.create(endpoint + "/" + repo.id() + "/resolve/" + encode(revision, false) + "/" + encode(file, true));
    }

    /** Percent-encodes all but unreserved characters (and '/' when {@code keepSlash}). */
    static String encode(String s, boolean keepSlash) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
                    || c == '_' || c == '~' || (keepSlash && c == '/')) {
                sb.append(c);
            } else {
                sb.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return sb.toString();
    }

    private boolean sameOrigin(URI uri) {
        return Objects.equals(lower(uri.getScheme()), lower(endpoint.getScheme()))
                && Objects.equals(lower(uri.getHost()), lower(endpoint.getHost()))
                && port(uri) == port(endpoint);
    }

    private static String lower(String s) {
        return s == null ? null : s.toLowerCase(Locale.ROOT);
    }

    private static int port(URI u) {
        return u.getPort() >= 0 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
    }

    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("User-Agent", "jformers/0.1.0");
        if (token != null && sameOrigin(uri)) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    /** HEAD on the resolve URL; relative redirects without file metadata (renamed repositories) are followed. */
    FileMeta head(RepoId repo, String revision, String file) {
        URI uri = resolveUri(repo, revision, file);
        for (int hop = 0; ; hop++) {
            HttpRequest req = request(uri).method("HEAD", HttpRequest.BodyPublishers.noBody())
                    .header("Accept-Encoding", "identity").timeout(readTimeout).build();
            HttpResponse<Void> r = send(req, HttpResponse.BodyHandlers.discarding());
            int s = r.statusCode();
            String commit = r.headers().firstValue("X-Repo-Commit").orElse(null);
            String location = r.headers().firstValue("Location").orElse(null);
            if (s >= 300 && s < 400 && commit == null && location != null && URI.create(location).getHost() == null && hop < 5) {
                uri = uri.resolve(location);
                continue;
            }
            if (s >= 400) {
                throw httpError(r, repo, revision, file);
            }
            if (s >= 300 && location == null) {
                throw new HubException(HubException.Reason.OTHER, "HTTP " + s + " without a Location for " + uri);
            }
            String etag = r.headers().firstValue("X-Linked-Etag").or(() -> r.headers().firstValue("ETag")).orElse(null);
            if (commit == null || etag == null) {
                throw new HubException(HubException.Reason.OTHER, uri + " answered without " + (commit == null ? "X-Repo-Commit"
                        : "an ETag") + ": is " + endpoint + " a Hugging Face Hub (HF_ENDPOINT)?");
            }
            etag = normalizeEtag(etag);
            if (!RepoId.isCommitHash(commit) || etag.isEmpty() || etag.contains("/") || etag.contains("\\") || etag.startsWith(".")) {
                throw new HubException(HubException.Reason.OTHER, uri + " answered a malformed commit or ETag ('" + commit
                        + "', '" + etag + "')");
            }
            long size = r.headers().firstValueAsLong("X-Linked-Size")
                    .orElse(r.headers().firstValueAsLong("Content-Length").orElse(-1));
            URI where = s >= 300 ? uri.resolve(location) : uri;
            return new FileMeta(commit, etag, size, where);
        }
    }

    /** {@code W/"abc"} → {@code abc}. */
    static String normalizeEtag(String etag) {
        String e = etag.strip();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) {
            e = e.substring(1, e.length() - 1);
        }
        return e;
    }

    private HubException httpError(HttpResponse<?> r, RepoId repo, String revision, String file) {
        int s = r.statusCode();
        String code = r.headers().firstValue("X-Error-Code").orElse("");
        String serverSays = r.headers().firstValue("X-Error-Message").map(m -> " (" + m.replace('\n', ' ') + ")").orElse("");
        String tokenHint = token == null ? "set HF_TOKEN to a token with access to it" : "the token given has no access to it";
        if (code.equals("RepoNotFound")) {
            return new HubException(HubException.Reason.REPO_NOT_FOUND, "repository not found: '" + repo + "' on " + endpoint
                    + (s == 401 || token == null ? " (if it is private or gated, " + tokenHint + ")" : ""));
        }
        if (code.equals("GatedRepo") || (code.isEmpty() && (s == 401 || s == 403))) {
            return new HubException(HubException.Reason.GATED, "gated or private repository '" + repo + "': " + tokenHint
                    + " (HTTP " + s + ")" + serverSays);
        }
        if (code.equals("RevisionNotFound")) {
            return new HubException(HubException.Reason.REVISION_NOT_FOUND, "revision not found: '" + revision
                    + "' in repository '" + repo + "'");
        }
        if (code.equals("EntryNotFound") || s == 404) {
            return new HubException(HubException.Reason.ENTRY_NOT_FOUND, "file not found: " + file + " in '" + repo
                    + "' at revision '" + revision + "'");
        }
        return new HubException(HubException.Reason.OTHER, "HTTP " + s + " from " + r.uri() + serverSays);
    }

    private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> handler) {
        try {
            return http().send(req, handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException(HubException.Reason.NETWORK, "interrupted while talking to " + req.uri().getHost(), e);
        } catch (IOException e) {
            throw networkError(req.uri(), e);
        }
    }

    private HubException networkError(URI uri, IOException e) {
        String why = null;
        for (Throwable t = e; t != null && why == null; t = t.getCause()) {
            if (t instanceof java.nio.channels.UnresolvedAddressException || t instanceof java.net.UnknownHostException) {
                why = "unknown host " + uri.getHost();
            }
        }
        if (why != null) {
            // found above
        } else if (e instanceof HttpConnectTimeoutException) {
            why = "connection timed out after " + connectTimeout.toSeconds() + " s";
        } else if (e instanceof HttpTimeoutException) {
            why = "no answer within " + readTimeout.toSeconds() + " s";
        } else if (e instanceof ConnectException) {
            why = "connection refused";
        } else {
            why = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
        }
        String host = uri.getScheme() + "://" + uri.getAuthority();
        return new HubException(HubException.Reason.NETWORK, "cannot reach " + host + " (" + why.replace('\n', ' ') + ")", e);
    }

    /**
     * Streams the file into {@code blob.incomplete} (resuming it when there), retrying a broken
     * connection, checks size and sha256, and renames it to {@code blob}.
     */
    private void downloadBlob(RepoId repo, String file, FileMeta meta, Path blob) throws IOException {
        Path partial = blob.resolveSibling(blob.getFileName() + ".incomplete");
        HubException last = null;
        boolean complete = false;
        for (int attempt = 0; attempt <= retries && !complete; attempt++) {
            if (attempt > 0) {
                sleep(Math.min(4000, 250L << (attempt - 1)));
            }
            try {
                complete = transfer(file, meta, partial);
            } catch (HubException e) {
                if (e.reason() != HubException.Reason.NETWORK) {
                    throw e;
                }
                last = e;
                if (attempt < retries) {
                    long have = Files.exists(partial) ? Files.size(partial) : 0;
                    progress.note("jformers: " + file + ": " + e.getMessage() + "; resuming at byte " + have);
                }
            }
        }
        long have = Files.exists(partial) ? Files.size(partial) : 0;
        if (!complete) {
            throw new HubException(HubException.Reason.NETWORK, "download of " + file + " from '" + repo + "' broke off after "
                    + have + (meta.size() >= 0 ? " of " + meta.size() : "") + " bytes: "
                    + (last == null ? "no reason given" : last.getMessage()) + "; run again to resume", last);
        }
        if (meta.size() >= 0 && have != meta.size()) {
            Files.deleteIfExists(partial);
            throw new HubException(HubException.Reason.INTEGRITY, "download of " + file + " from '" + repo + "' gave " + have
                    + " bytes where " + meta.size() + " were announced (the download was discarded)");
        }
        if (SHA256.matcher(meta.etag()).matches()) {
            String actual = sha256(partial);
            if (!actual.equals(meta.etag())) {
                Files.deleteIfExists(partial);
                throw new HubException(HubException.Reason.INTEGRITY, "checksum mismatch for " + file + " of '" + repo
                        + "': expected sha256 " + meta.etag() + ", got " + actual + " (the download was discarded)");
            }
        }
        HubCache.moveReplacing(partial, blob);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException(HubException.Reason.NETWORK, "interrupted");
        }
    }

    /**
     * One GET into {@code partial}; true when the file is complete. Throws NETWORK on a broken or
     * stalled connection (the bytes so far stay in {@code partial}).
     */
    private boolean transfer(String file, FileMeta meta, Path partial) throws IOException {
        long have = Files.exists(partial) ? Files.size(partial) : 0;
        if (meta.size() >= 0 && have > meta.size()) {
            Files.delete(partial);
            have = 0;
        }
        if (meta.size() >= 0 && have == meta.size() && have > 0) {
            return true;
        }
        URI uri = meta.location();
        HttpResponse<InputStream> r;
        for (int hop = 0; ; hop++) {
            HttpRequest.Builder b = request(uri).GET().timeout(readTimeout).header("Accept-Encoding", "identity");
            if (have > 0) {
                b.header("Range", "bytes=" + have + "-");
            }
            r = send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            int s = r.statusCode();
            String location = r.headers().firstValue("Location").orElse(null);
            if (s >= 300 && s < 400 && location != null) {
                r.body().close();
                if (hop >= 10) {
                    throw new HubException(HubException.Reason.OTHER, "too many redirects downloading " + file);
                }
                uri = uri.resolve(location);
                continue;
            }
            break;
        }
        int s = r.statusCode();
        if (s == 416 && have > 0) {
            r.body().close();
            Files.delete(partial);          // the server disagrees about what we have: start over
            throw new HubException(HubException.Reason.NETWORK, "the server refused to resume " + file);
        }
        if (s >= 400) {
            r.body().close();
            throw new HubException(s == 401 || s == 403 ? HubException.Reason.GATED : HubException.Reason.OTHER,
                    "HTTP " + s + " downloading " + file + " from " + uri.getScheme() + "://" + uri.getAuthority());
        }
        String expectRange = "bytes " + have + "-";
        boolean append = s == 206 && r.headers().firstValue("Content-Range").map(cr -> cr.startsWith(expectRange)).orElse(false);
        if (s == 206 && !append) {
            r.body().close();
            Files.deleteIfExists(partial);  // a range we did not ask for: start over
            throw new HubException(HubException.Reason.NETWORK, "the server sent an unexpected range of " + file);
        }
        long start = append ? have : 0;
        long total = meta.size() >= 0 ? meta.size() : r.headers().firstValueAsLong("Content-Length").orElse(-1);
        progress.begin(file, total);
        progress.advance(start);
        // The JDK client has no read timeout for a body: a watchdog closes the stream when it stalls.
        AtomicBoolean stalled = new AtomicBoolean();
        AtomicLong lastRead = new AtomicLong(System.nanoTime());
        InputStream in = r.body();
        long idleNanos = readTimeout.toNanos();
        ScheduledFuture<?> watchdog = WATCHDOG.scheduleAtFixedRate(() -> {
            if (System.nanoTime() - lastRead.get() > idleNanos) {
                stalled.set(true);
                try {
                    in.close();
                } catch (IOException ignored) {
                    // closing is all we can do
                }
            }
        }, Math.max(1, idleNanos / 4), Math.max(1, idleNanos / 4), TimeUnit.NANOSECONDS);
        try (in; FileChannel out = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buf = new byte[1 << 16];
            int n;
            long written = start;
            while ((n = in.read(buf)) > 0) {
                lastRead.set(System.nanoTime());
                if (meta.size() >= 0 && n > meta.size() - written) {
                    // More than announced (or than the LFS pointer's size): stop now, keep nothing.
                    in.close();
                    out.close();
                    Files.deleteIfExists(partial);
                    throw new HubException(HubException.Reason.INTEGRITY, "download of " + file + " sent more than the "
                            + meta.size() + " bytes announced; stopped there and discarded it");
                }
                written += n;
                ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                try {
                    while (bb.hasRemaining()) {
                        out.write(bb);
                    }
                } catch (IOException e) {
                    throw cacheError(partial, e);      // disk full, not a network problem
                }
                progress.advance(n);
            }
        } catch (InterruptedIOException e) {
            throw new HubException(HubException.Reason.NETWORK, "interrupted downloading " + file, e);
        } catch (IOException e) {
            if (stalled.get()) {
                throw new HubException(HubException.Reason.NETWORK, "no data for " + readTimeout.toSeconds() + " s from "
                        + uri.getScheme() + "://" + uri.getAuthority(), e);
            }
            if (!Files.exists(partial)) {
                throw e;
            }
            throw networkError(uri, e);
        } finally {
            watchdog.cancel(false);
            progress.end();
        }
        if (stalled.get()) {
            throw new HubException(HubException.Reason.NETWORK, "no data for " + readTimeout.toSeconds() + " s from "
                    + uri.getScheme() + "://" + uri.getAuthority());
        }
        long got = Files.size(partial);
        if (meta.size() >= 0 && got < meta.size()) {
            throw new HubException(HubException.Reason.NETWORK, "connection closed after " + got + " of " + meta.size() + " bytes");
        }
        return true;
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            while (ch.read(buf) > 0) {
                buf.flip();
                md.update(buf);
                buf.clear();
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    // ------------------------------------------------------------------------------ builder

    /** Settings of a {@link HubClient}; everything has a default. */
    public static final class Builder {
        private String endpoint = DEFAULT_ENDPOINT;
        private Path cacheDir = new HubEnvironment(java.util.Map.of()).hfHome().resolve("hub");
        private String token;
        private boolean offline;
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration readTimeout = Duration.ofSeconds(30);
        private int retries = 5;
        private DownloadProgress progress = DownloadProgress.stderr();

        private Builder() {
        }

        /** The Hub's base URL ({@code HF_ENDPOINT}). */
        public Builder endpoint(String endpoint) {
            this.endpoint = Objects.requireNonNull(endpoint);
            return this;
        }

        /** The hub cache folder ({@code HF_HUB_CACHE}). */
        public Builder cacheDir(Path cacheDir) {
            this.cacheDir = Objects.requireNonNull(cacheDir);
            return this;
        }

        /** The access token sent as {@code Authorization: Bearer} to the endpoint; null for none. */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        /** Use the cache only ({@code HF_HUB_OFFLINE=1}). */
        public Builder offline(boolean offline) {
            this.offline = offline;
            return this;
        }

        public Builder connectTimeout(Duration d) {
            this.connectTimeout = Objects.requireNonNull(d);
            return this;
        }

        /** How long a request may wait for its answer, and a download for its next bytes. */
        public Builder readTimeout(Duration d) {
            this.readTimeout = Objects.requireNonNull(d);
            return this;
        }

        /** How often a broken download is resumed before giving up (default 5). */
        public Builder retries(int retries) {
            if (retries < 0) {
                throw new IllegalArgumentException("retries must be >= 0");
            }
            this.retries = retries;
            return this;
        }

        public Builder progress(DownloadProgress progress) {
            this.progress = Objects.requireNonNull(progress);
            return this;
        }

        public HubClient build() {
            return new HubClient(this);
        }
    }
}
