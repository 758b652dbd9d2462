package dev.jformers.loaders.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/**
 * A local stand-in for the Hugging Face Hub on 127.0.0.1 (ephemeral ports), answering what the
 * client asks: HEAD/GET {@code /{repo}/resolve/{revision}/{file}} with {@code X-Repo-Commit},
 * {@code ETag} (git blob sha1) for small files, and for LFS files (.safetensors, .bin) a 302 to
 * {@code /lfs/<sha256>} on a second server (the "CDN", another origin: {@code localhost}, another port) with {@code X-Linked-Etag}
 * and {@code X-Linked-Size}; 401 {@code GatedRepo}, 404 {@code RepoNotFound} /
 * {@code RevisionNotFound} / {@code EntryNotFound} as the Hub sends them. Faults can be injected
 * per blob: cut the first GET after half the bytes, send wrong bytes, stall, send slowly.
 */
final class FakeHub implements AutoCloseable {
    /** One request as the servers saw it. */
    record Seen(String server, String method, String path, String authorization, String range) {
    }

    static final class Repo {
        final String id;
        final Map<String, String> refs = new LinkedHashMap<>();          // branch/tag -> commit
        final Map<String, Map<String, byte[]>> commits = new LinkedHashMap<>();  // commit -> files
        String gatedToken;

        Repo(String id) {
            this.id = id;
        }

        Repo commit(String commit, Map<String, byte[]> files, String... refNames) {
            commits.put(commit, files);
            for (String r : refNames) {
                refs.put(r, commit);
            }
            return this;
        }
    }

    final Map<String, Repo> repos = new ConcurrentHashMap<>();
    final List<Seen> seen = new CopyOnWriteArrayList<>();
    final Map<String, byte[]> lfs = new ConcurrentHashMap<>();
    final Set<String> cutOnce = ConcurrentHashMap.newKeySet();
    final Set<String> corrupt = ConcurrentHashMap.newKeySet();
    final Set<String> stall = ConcurrentHashMap.newKeySet();
    /** Blobs sent with this many bytes more than announced (a chunked body that never ends in time). */
    final Map<String, Long> oversend = new ConcurrentHashMap<>();
    volatile int slowMillisPer4k;
    final java.util.concurrent.atomic.AtomicLong sentExtra = new java.util.concurrent.atomic.AtomicLong();

    private final HttpServer hub;
    private final HttpServer cdn;

    FakeHub() throws IOException {
        InetAddress lo = InetAddress.getLoopbackAddress();
        hub = HttpServer.create(new InetSocketAddress(lo, 0), 0);
        cdn = HttpServer.create(new InetSocketAddress(lo, 0), 0);
        hub.createContext("/", this::hubRequest);
        cdn.createContext("/", this::cdnRequest);
        hub.setExecutor(Executors.newCachedThreadPool());
        cdn.setExecutor(Executors.newCachedThreadPool());
        hub.start();
        cdn.start();
    }

    String endpoint() {
        return "http://127.0.0.1:" + hub.getAddress().getPort();
    }

    /** Another host name as well as another port, as a CDN is (Python compares host names only). */
    String cdnOrigin() {
        return "http://localhost:" + cdn.getAddress().getPort();
    }

    Repo repo(String id) {
        return repos.computeIfAbsent(id, Repo::new);
    }

    @Override
    public void close() {
        hub.stop(0);
        cdn.stop(0);
    }

    static boolean isLfs(String file) {
        return file.endsWith(".safetensors") || file.endsWith(".bin");
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The id git gives a blob: sha1("blob LEN\0" + bytes), the ETag the Hub sends for small files. */
    static String gitSha1(byte[] data) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-1");
            md.update(("blob " + data.length + "\0").getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest(data));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A stable 40-hex commit id for a name. */
    static String commitId(String name) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(name.getBytes(StandardCharsets.UTF_8)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The files of a model folder, by name. */
    static Map<String, byte[]> folder(Path dir, String... names) throws IOException {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (String n : names) {
            m.put(n, Files.readAllBytes(dir.resolve(n)));
        }
        return m;
    }

    private void record(String server, HttpExchange ex) {
        seen.add(new Seen(server, ex.getRequestMethod(), ex.getRequestURI().getRawPath(),
                ex.getRequestHeaders().getFirst("Authorization"), ex.getRequestHeaders().getFirst("Range")));
    }

    private static void error(HttpExchange ex, int status, String code, String commit) throws IOException {
        ex.getResponseHeaders().set("X-Error-Code", code);
        ex.getResponseHeaders().set("X-Error-Message", code);
        if (commit != null) {
            ex.getResponseHeaders().set("X-Repo-Commit", commit);
        }
        ex.sendResponseHeaders(status, -1);
        ex.close();
    }

    private void hubRequest(HttpExchange ex) throws IOException {
        record("hub", ex);
        String path = ex.getRequestURI().getRawPath();
        int at = path.indexOf("/resolve/");
        if (at < 0) {
            error(ex, 404, "NotFound", null);
            return;
        }
        String repoId = path.substring(1, at);
        String rest = path.substring(at + "/resolve/".length());
        int slash = rest.indexOf('/');
        String revision = URLDecoder.decode(rest.substring(0, slash), StandardCharsets.UTF_8);
        String file = URLDecoder.decode(rest.substring(slash + 1), StandardCharsets.UTF_8);
        Repo repo = repos.get(repoId);
        if (repo == null) {
            error(ex, 404, "RepoNotFound", null);
            return;
        }
        if (repo.gatedToken != null && !("Bearer " + repo.gatedToken).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
            error(ex, 401, "GatedRepo", null);
            return;
        }
        String commit = repo.commits.containsKey(revision) ? revision : repo.refs.get(revision);
        if (commit == null) {
            error(ex, 404, "RevisionNotFound", null);
            return;
        }
        byte[] data = repo.commits.get(commit).get(file);
        if (data == null) {
            error(ex, 404, "EntryNotFound", commit);
            return;
        }
        var h = ex.getResponseHeaders();
        h.set("X-Repo-Commit", commit);
        if (isLfs(file)) {
            String sha = sha256(data);
            lfs.put(sha, data);
            h.set("ETag", "\"" + gitSha1(data) + "\"");      // the pointer file's id; the client must prefer X-Linked-Etag
            h.set("X-Linked-Etag", "\"" + sha + "\"");
            h.set("X-Linked-Size", Long.toString(data.length));
            h.set("Location", cdnOrigin() + "/lfs/" + sha);
            ex.sendResponseHeaders(302, -1);
            ex.close();
            return;
        }
        h.set("ETag", "W/\"" + gitSha1(data) + "\"");
        if (ex.getRequestMethod().equals("HEAD")) {
            h.set("Content-Length", Long.toString(data.length));
            ex.sendResponseHeaders(200, -1);
            ex.close();
            return;
        }
        ex.sendResponseHeaders(200, data.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(data);
        }
    }

    private void cdnRequest(HttpExchange ex) throws IOException {
        record("cdn", ex);
        String path = ex.getRequestURI().getRawPath();
        String sha = path.startsWith("/lfs/") ? path.substring(5) : "";
        byte[] data = lfs.get(sha);
        if (data == null) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        if (corrupt.contains(sha)) {
            data = data.clone();
            data[data.length / 2] ^= 0x5a;
        }
        int from = 0;
        String range = ex.getRequestHeaders().getFirst("Range");
        if (range != null && range.startsWith("bytes=") && range.endsWith("-")) {
            from = Integer.parseInt(range.substring(6, range.length() - 1));
        }
        if (from > data.length) {
            ex.sendResponseHeaders(416, -1);
            ex.close();
            return;
        }
        if (from > 0) {
            ex.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (data.length - 1) + "/" + data.length);
        }
        ex.getResponseHeaders().set("ETag", "\"" + sha + "\"");
        long extra = oversend.getOrDefault(sha, 0L);
        ex.sendResponseHeaders(from > 0 ? 206 : 200, extra > 0 ? 0 : data.length - from);
        OutputStream out = ex.getResponseBody();
        if (extra > 0) {
            try (out) {
                out.write(data, from, data.length - from);
                byte[] zeros = new byte[1 << 16];
                for (long sent = 0; sent < extra; sent += zeros.length) {
                    out.write(zeros);
                    sentExtra.addAndGet(zeros.length);
                }
            }
            return;
        }
        boolean cut = cutOnce.remove(sha);
        boolean stalls = stall.contains(sha);
        int end = cut || stalls ? from + (data.length - from) / 2 : data.length;
        for (int i = from; i < end; i += 4096) {
            out.write(data, i, Math.min(4096, end - i));
            out.flush();
            if (slowMillisPer4k > 0) {
                sleep(slowMillisPer4k);
            }
        }
        out.flush();
        if (stalls) {
            sleep(10_000);
        }
        if (cut || stalls) {
            // Drop the connection mid-body: an exception in the handler makes the server close it.
            throw new IOException("fake hub: connection cut after " + (end - from) + " bytes");
        }
        out.close();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
