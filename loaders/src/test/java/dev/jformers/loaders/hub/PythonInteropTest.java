package dev.jformers.loaders.hub;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shared cache, checked with Python's own huggingface_hub: what jformers downloads Python
 * reads offline, and what Python downloads (from the same local stand-in Hub) jformers reads
 * offline. Runs only where a Python with huggingface_hub is found ({@code JFORMERS_PYTHON}, else
 * {@code python3}); skipped elsewhere.
 */
class PythonInteropTest {
    static final String REPO = "test-org/tiny-bert";

    @TempDir
    Path cache;

    FakeHub hub;
    Map<String, byte[]> files;
    String commit = FakeHub.commitId("interop");

    static String python() {
        String p = System.getenv("JFORMERS_PYTHON");
        return p != null && !p.isBlank() ? p : "python3";
    }

    record Run(int code, String out) {
    }

    Run python(String script) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(python(), "-c", script).redirectErrorStream(true);
        pb.environment().put("HF_ENDPOINT", hub.endpoint());
        pb.environment().put("HF_HUB_CACHE", cache.toString());
        pb.environment().put("HF_HUB_DISABLE_TELEMETRY", "1");
        pb.environment().put("HF_HUB_DISABLE_XET", "1");
        pb.environment().remove("HF_TOKEN");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Run(p.exitValue(), out.strip());
    }

    @BeforeEach
    void setUp() throws Exception {
        hub = new FakeHub();
        files = FakeHub.folder(HubClientTest.golden("bert/masked_lm"), "config.json", "model.safetensors");
        hub.repo(REPO).commit(commit, files, "main");
        Run probe;
        try {
            probe = python("import huggingface_hub; print(huggingface_hub.__version__)");
        } catch (IOException e) {
            probe = new Run(-1, e.getMessage());
        }
        Assumptions.assumeTrue(probe.code() == 0, "no Python with huggingface_hub (" + python() + "): " + probe.out());
    }

    @AfterEach
    void tearDown() {
        hub.close();
    }

    @Test
    void pythonReadsWhatJformersDownloaded() throws Exception {
        Path snap = HubClient.builder().endpoint(hub.endpoint()).cacheDir(cache).progress(DownloadProgress.silent())
                .build().snapshot(REPO);
        Run r = python("""
                import os
                os.environ["HF_HUB_OFFLINE"] = "1"
                from huggingface_hub import hf_hub_download, snapshot_download, scan_cache_dir
                print(hf_hub_download("test-org/tiny-bert", "model.safetensors"))
                print(snapshot_download("test-org/tiny-bert"))
                info = scan_cache_dir()
                print(len(info.warnings), [(r.repo_id, sorted(x.refs), x.nb_files) for r in info.repos for x in r.revisions])
                """);
        assertEquals(0, r.code(), r.out());
        List<String> lines = r.out().lines().toList();
        assertEquals(snap.resolve("model.safetensors").toString(), lines.get(lines.size() - 3));
        assertEquals(snap.toString(), lines.get(lines.size() - 2));
        assertEquals("0 [('test-org/tiny-bert', ['main'], 2)]", lines.get(lines.size() - 1));
    }

    @Test
    void jformersReadsWhatPythonDownloaded() throws Exception {
        Run r = python("""
                from huggingface_hub import hf_hub_download
                for f in ("config.json", "model.safetensors"):
                    print(hf_hub_download("test-org/tiny-bert", f))
                """);
        Assumptions.assumeTrue(r.code() == 0, "this huggingface_hub cannot download from the stand-in Hub: " + r.out());
        hub.close();
        Path snap = HubClient.builder().cacheDir(cache).offline(true).build().snapshot(REPO);
        assertEquals(cache.resolve("models--test-org--tiny-bert/snapshots").resolve(commit), snap);
        assertArrayEquals(files.get("model.safetensors"), Files.readAllBytes(snap.resolve("model.safetensors")));
        assertEquals(commit, new HubCache(cache).readRef(new RepoId(REPO), "main"));
    }
}
