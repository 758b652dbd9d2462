package dev.jformers.cli;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code jformers download} and {@code jformers cache list|rm} against a tiny local stand-in for the Hub. */
class HubCommandsTest {
    static final String COMMIT = "a".repeat(40);
    static final Map<String, byte[]> FILES = Map.of(
            "config.json", "{\"model_type\": \"bert\"}".getBytes(StandardCharsets.UTF_8),
            "model.safetensors", "not really weights, but bytes with a sha256".getBytes(StandardCharsets.UTF_8));

    @TempDir
    Path cache;

    HttpServer server;

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    static String hex(String algorithm, byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(data));
    }

    @BeforeEach
    void startHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", ex -> {
            String path = ex.getRequestURI().getPath();
            String prefix = "/test-org/tiny/resolve/";
            if (!path.startsWith(prefix)) {
                ex.getResponseHeaders().set("X-Error-Code", "RepoNotFound");
                ex.sendResponseHeaders(404, -1);
                ex.close();
                return;
            }
            String rest = path.substring(prefix.length());
            byte[] data = FILES.get(rest.substring(rest.indexOf('/') + 1));
            ex.getResponseHeaders().set("X-Repo-Commit", COMMIT);
            if (data == null) {
                ex.getResponseHeaders().set("X-Error-Code", "EntryNotFound");
                ex.sendResponseHeaders(404, -1);
                ex.close();
                return;
            }
            try {
                ex.getResponseHeaders().set("ETag", "\"" + hex(rest.endsWith(".safetensors") ? "SHA-256" : "SHA-1", data) + "\"");
            } catch (Exception e) {
                throw new IOException(e);
            }
            if (ex.getRequestMethod().equals("HEAD")) {
                ex.getResponseHeaders().set("Content-Length", Integer.toString(data.length));
                ex.sendResponseHeaders(200, -1);
                ex.close();
                return;
            }
            ex.sendResponseHeaders(200, data.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(data);
            }
        });
        server.start();
        System.setProperty("jformers.hf.endpoint", "http://127.0.0.1:" + server.getAddress().getPort());
    }

    @AfterEach
    void stopHub() {
        System.clearProperty("jformers.hf.endpoint");
        server.stop(0);
    }

    @Test
    void downloadListRemove() {
        Result r = run("download", "test-org/tiny", "--cache-dir", cache.toString());
        assertEquals(0, r.code(), r.err());
        Path snap = cache.resolve("models--test-org--tiny/snapshots").resolve(COMMIT);
        assertEquals(snap.toString(), r.out().strip());
        assertTrue(Files.isSymbolicLink(snap.resolve("model.safetensors")));

        r = run("cache", "list", "--cache-dir", cache.toString());
        assertEquals(0, r.code(), r.err());
        String line = r.out().lines().filter(l -> l.startsWith("test-org/tiny ")).findFirst().orElse("");
        assertTrue(line.contains(" main ") && line.contains(COMMIT) && line.endsWith(snap.toString()), r.out());

        r = run("cache", "rm", "test-org/tiny", "--revision", "main", "--cache-dir", cache.toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(Files.exists(snap));
        assertTrue(Files.exists(cache.resolve("models--test-org--tiny")));

        r = run("cache", "rm", "test-org/tiny", "--cache-dir", cache.toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(Files.exists(cache.resolve("models--test-org--tiny")));
        r = run("cache", "rm", "test-org/tiny", "--cache-dir", cache.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("jformers: 'test-org/tiny' is not in the cache"), r.err());
        assertTrue(run("cache", "list", "--cache-dir", cache.toString()).out().startsWith("no models in "));
    }

    @Test
    void downloadErrorsAreOneLine() {
        Result r = run("download", "test-org/missing", "--cache-dir", cache.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("jformers: repository not found: 'test-org/missing'"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }
}
