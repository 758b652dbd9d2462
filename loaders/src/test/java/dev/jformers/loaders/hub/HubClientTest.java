package dev.jformers.loaders.hub;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class HubClientTest {
    static final String BERT = "test-org/tiny-bert";
    static final String C1 = FakeHub.commitId("tiny-bert main");
    static final String C0 = FakeHub.commitId("tiny-bert v0.1");

    @TempDir
    Path cache;

    FakeHub hub;
    Map<String, byte[]> bertFiles;
    Map<String, byte[]> oldBertFiles;

    static Path testdata() {
        String p = System.getProperty("jformers.testdata");
        Path dir = p != null ? Path.of(p) : Path.of("..", "testdata");
        if (!Files.isDirectory(dir)) {
            fail("test data not found at " + dir.toAbsolutePath());
        }
        return dir;
    }

    static Path golden(String model) {
        return testdata().resolve("golden").resolve(model);
    }

    @BeforeEach
    void startHub() throws IOException {
        hub = new FakeHub();
        bertFiles = FakeHub.folder(golden("bert/masked_lm"), "config.json", "model.safetensors", "pytorch_model.bin",
                "generation_config.json");
        bertFiles.put("vocab.txt", Files.readAllBytes(testdata().resolve("vocab/bert-base-uncased/vocab.txt")));
        oldBertFiles = FakeHub.folder(golden("bert/masked_lm"), "config.json", "pytorch_model.bin");
        oldBertFiles.put("config.json", (new String(oldBertFiles.get("config.json"), StandardCharsets.UTF_8) + "\n")
                .getBytes(StandardCharsets.UTF_8));
        hub.repo(BERT).commit(C0, oldBertFiles, "v0.1").commit(C1, bertFiles, "main");

        hub.repo("gpt2").commit(FakeHub.commitId("gpt2"),
                FakeHub.folder(golden("gpt2/lm_head"), "config.json", "pytorch_model.bin"), "main");

        Path sharded = testdata().resolve("formats/bert-masked_lm/sharded_safetensors");
        hub.repo("test-org/sharded").commit(FakeHub.commitId("sharded"), FakeHub.folder(sharded, "config.json",
                "model.safetensors.index.json", "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors"), "main");

        FakeHub.Repo gated = hub.repo("test-org/gated");
        gated.commit(FakeHub.commitId("gated"), FakeHub.folder(golden("bert/masked_lm"), "config.json", "model.safetensors"), "main");
        gated.gatedToken = "secret-token";
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    HubClient.Builder client() {
        return HubClient.builder().endpoint(hub.endpoint()).cacheDir(cache).progress(DownloadProgress.silent())
                .readTimeout(Duration.ofSeconds(10));
    }

    Path repoDir(String id) {
        return cache.resolve("models--" + id.replace("/", "--"));
    }

    static String sha(String file, Map<String, byte[]> files) {
        return FakeHub.sha256(files.get(file));
    }

    long gets(String sha) {
        return hub.seen.stream().filter(s -> s.server().equals("cdn") && s.method().equals("GET") && s.path().equals("/lfs/" + sha)).count();
    }

    static List<Path> filesUnder(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> !Files.isDirectory(p)).sorted().toList();
        }
    }

    // ------------------------------------------------------------------------------------------

    @Test
    void downloadWritesPythonsCacheLayout() throws IOException {
        Path snap = client().build().snapshot(BERT);
        Path repo = repoDir(BERT);
        assertEquals(repo.resolve("snapshots").resolve(C1), snap);
        assertEquals(C1, Files.readString(repo.resolve("refs/main")), "refs/main holds the bare commit, no newline");

        String configEtag = FakeHub.gitSha1(bertFiles.get("config.json"));
        String weightsEtag = sha("model.safetensors", bertFiles);
        assertTrue(Files.isSymbolicLink(snap.resolve("config.json")));
        assertEquals(Path.of("../../blobs/" + configEtag), Files.readSymbolicLink(snap.resolve("config.json")));
        assertEquals(Path.of("../../blobs/" + weightsEtag), Files.readSymbolicLink(snap.resolve("model.safetensors")));
        assertArrayEquals(bertFiles.get("model.safetensors"), Files.readAllBytes(repo.resolve("blobs").resolve(weightsEtag)));
        assertArrayEquals(bertFiles.get("config.json"), Files.readAllBytes(snap.resolve("config.json")));
        assertArrayEquals(bertFiles.get("vocab.txt"), Files.readAllBytes(snap.resolve("vocab.txt")));
        assertTrue(Files.exists(snap.resolve("generation_config.json")));
        assertFalse(Files.exists(snap.resolve("pytorch_model.bin"), java.nio.file.LinkOption.NOFOLLOW_LINKS),
                "only the first weight format present is fetched");
        assertTrue(Files.exists(repo.resolve(".no_exist").resolve(C1).resolve("tokenizer.json")), "absent files are remembered as Python does");
        assertTrue(Files.exists(cache.resolve(".locks/models--test-org--tiny-bert/" + weightsEtag + ".lock")));
        try (Stream<Path> blobs = Files.list(repo.resolve("blobs"))) {
            List<String> names = blobs.map(p -> p.getFileName().toString()).sorted().toList();
            assertEquals(4, names.size(), names.toString());   // config, generation_config, vocab, weights
            assertTrue(names.stream().noneMatch(n -> n.endsWith(".incomplete")));
        }
        assertEquals(1, gets(weightsEtag));

        // A second call asks only for the commit (config.json's HEAD) and downloads nothing.
        int before = hub.seen.size();
        assertEquals(snap, client().build().snapshot(BERT));
        List<FakeHub.Seen> again = hub.seen.subList(before, hub.seen.size());
        assertEquals(1, again.size(), again.toString());
        assertEquals("HEAD", again.get(0).method());
    }

    @Test
    void legacyIdAndFallbackToPytorchWeights() throws IOException {
        Path snap = client().build().snapshot("gpt2");
        assertEquals(cache.resolve("models--gpt2/snapshots").resolve(FakeHub.commitId("gpt2")), snap);
        assertTrue(Files.isRegularFile(snap.resolve("pytorch_model.bin")));
        assertTrue(hub.seen.stream().anyMatch(s -> s.path().equals("/gpt2/resolve/" + FakeHub.commitId("gpt2") + "/model.safetensors")));
        assertTrue(hub.seen.stream().anyMatch(s -> s.path().equals("/gpt2/resolve/" + FakeHub.commitId("gpt2") + "/model.safetensors.index.json")));
        assertFalse(hub.seen.stream().anyMatch(s -> s.path().endsWith("pytorch_model.bin.index.json")), "stops at the first format present");
    }

    @Test
    void reusesTheCacheWithoutNetwork() {
        Path snap = client().build().snapshot(BERT);
        String endpoint = hub.endpoint();
        hub.close();
        // offline mode: no request at all
        assertEquals(snap, HubClient.builder().endpoint(endpoint).cacheDir(cache).offline(true).build().snapshot(BERT));
        // online, but the Hub is gone: refs/main → snapshot
        assertEquals(snap, client().endpoint(endpoint).build().snapshot(BERT, "main"));
        // single files too
        assertEquals(snap.resolve("vocab.txt"), client().endpoint(endpoint).build().download(BERT, null, "vocab.txt"));
        assertEquals(snap.resolve("vocab.txt"), client().endpoint(endpoint).offline(true).build().download(BERT, null, "vocab.txt"));
        // a revision never downloaded cannot be had
        HubException e = assertThrows(HubException.class, () -> client().endpoint(endpoint).build().snapshot(BERT, "v0.1"));
        assertEquals(HubException.Reason.NETWORK, e.reason());
        assertTrue(e.getMessage().contains("cannot reach") && e.getMessage().contains("refs/v0.1"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void offlineErrorNamesWhatIsMissing() throws IOException {
        HubClient offline = client().offline(true).build();
        HubException e = assertThrows(HubException.class, () -> offline.snapshot(BERT));
        assertEquals(HubException.Reason.NOT_CACHED, e.reason());
        assertTrue(e.getMessage().contains("offline mode") && e.getMessage().contains("'test-org/tiny-bert'")
                && e.getMessage().contains("models--test-org--tiny-bert"), e.getMessage());

        // Only config.json cached (as AutoConfig in Python leaves it): the weights are named.
        client().build().download(BERT, "main", "config.json");
        e = assertThrows(HubException.class, () -> offline.snapshot(BERT));
        assertTrue(e.getMessage().contains("weights (one of model.safetensors"), e.getMessage());
        assertTrue(e.getMessage().contains("snapshots/" + C1), e.getMessage());
        assertEquals(0, hub.seen.stream().filter(s -> s.method().equals("GET") && s.server().equals("cdn")).count());
    }

    @Test
    void resumesAfterTheConnectionIsCut() throws IOException {
        String sha = sha("model.safetensors", bertFiles);
        int size = bertFiles.get("model.safetensors").length;
        hub.cutOnce.add(sha);
        // No retries: the first call fails and leaves the partial blob …
        HubException e = assertThrows(HubException.class, () -> client().retries(0).build().snapshot(BERT));
        assertEquals(HubException.Reason.NETWORK, e.reason());
        Path partial = repoDir(BERT).resolve("blobs").resolve(sha + ".incomplete");
        // The server sends half, then cuts: what arrived before the cut (all of it on a quiet machine, less
        // when the connection reset overtakes data still in flight under load) is kept.
        long kept = Files.size(partial);
        assertTrue(kept > 0 && kept <= size / 2, kept + " bytes kept; " + e.getMessage());
        assertFalse(Files.exists(repoDir(BERT).resolve("blobs").resolve(sha)));
        // … which the next call resumes with a Range request.
        Path snap = client().retries(0).build().snapshot(BERT);
        assertArrayEquals(bertFiles.get("model.safetensors"), Files.readAllBytes(snap.resolve("model.safetensors")));
        List<FakeHub.Seen> gets = hub.seen.stream().filter(s -> s.path().equals("/lfs/" + sha)).toList();
        assertEquals(2, gets.size());
        assertNull(gets.get(0).range());
        assertEquals("bytes=" + kept + "-", gets.get(1).range());
        assertFalse(Files.exists(partial));
    }

    @Test
    void retriesABrokenDownloadWithinOneCall() throws IOException {
        String sha = sha("model.safetensors", bertFiles);
        hub.cutOnce.add(sha);
        Path snap = client().retries(2).build().snapshot(BERT);
        assertArrayEquals(bertFiles.get("model.safetensors"), Files.readAllBytes(snap.resolve("model.safetensors")));
        assertEquals(2, gets(sha));
        assertTrue(hub.seen.stream().anyMatch(s -> s.path().equals("/lfs/" + sha) && s.range() != null));
    }

    @Test
    void corruptedDownloadIsRejectedAndNotPublished() throws IOException {
        String sha = sha("model.safetensors", bertFiles);
        hub.corrupt.add(sha);
        HubException e = assertThrows(HubException.class, () -> client().build().snapshot(BERT));
        assertEquals(HubException.Reason.INTEGRITY, e.reason());
        assertTrue(e.getMessage().contains("checksum mismatch") && e.getMessage().contains(sha), e.getMessage());
        Path blobs = repoDir(BERT).resolve("blobs");
        assertFalse(Files.exists(blobs.resolve(sha)));
        assertFalse(Files.exists(blobs.resolve(sha + ".incomplete")));
        assertFalse(Files.exists(repoDir(BERT).resolve("snapshots").resolve(C1).resolve("model.safetensors"),
                java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertNull(new HubCache(cache).find(new RepoId(BERT), "main"));
        // once the server is fixed, the download succeeds
        hub.corrupt.clear();
        Path snap = client().build().snapshot(BERT);
        assertArrayEquals(bertFiles.get("model.safetensors"), Files.readAllBytes(snap.resolve("model.safetensors")));
    }

    @Test
    void aDownloadStopsAtTheAnnouncedSize() throws IOException {
        // The server announces the file's size, then keeps sending: at most that much reaches the disk.
        String sha = sha("model.safetensors", bertFiles);
        long announced = bertFiles.get("model.safetensors").length;
        hub.oversend.put(sha, 64L << 20);
        HubException e = assertThrows(HubException.class, () -> client().retries(0).build().snapshot(BERT));
        assertEquals(HubException.Reason.INTEGRITY, e.reason());
        assertTrue(e.getMessage().contains("more than the " + announced + " bytes announced"), e.getMessage());
        Path blobs = repoDir(BERT).resolve("blobs");
        assertFalse(Files.exists(blobs.resolve(sha)));
        assertFalse(Files.exists(blobs.resolve(sha + ".incomplete")), "nothing beyond the announced size is kept");
        assertTrue(hub.sentExtra.get() < 32L << 20, "the client hung up early: " + hub.sentExtra.get());
    }

    @Test
    void concurrentDownloadsInOneJvmGiveOneIntactBlob() throws Exception {
        hub.slowMillisPer4k = 3;         // about 160 ms for the weights: the two calls overlap
        String sha = sha("model.safetensors", bertFiles);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Callable<Path> task = () -> client().build().snapshot(BERT);
            Future<Path> a = pool.submit(task);
            Future<Path> b = pool.submit(task);
            assertEquals(a.get(60, TimeUnit.SECONDS), b.get(60, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, gets(sha), "the second waits for the first's lock, then finds the blob");
        assertArrayEquals(bertFiles.get("model.safetensors"), Files.readAllBytes(repoDir(BERT).resolve("blobs").resolve(sha)));
    }

    @Test
    void concurrentDownloadsFromTwoJvmsGiveOneIntactBlob() throws Exception {
        hub.slowMillisPer4k = 5;
        String sha = sha("model.safetensors", bertFiles);
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                HubDownloadMain.class.getName(), hub.endpoint(), cache.toString(), BERT));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        // Start ours when the child has asked for something (its JVM is up), so that both overlap.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (hub.seen.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        Path ours = client().build().snapshot(BERT);
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        String childOut = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, child.exitValue(), childOut);
        assertEquals(ours.toString(), childOut.lines().reduce((x, y) -> y).orElse(""));
        assertEquals(1, gets(sha), "one process downloads, the other waits on the file lock and reuses the blob");
        assertArrayEquals(bertFiles.get("model.safetensors"), Files.readAllBytes(ours.resolve("model.safetensors")));
    }

    @Test
    void waitsForALockThatPythonsFilelockHolds() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(CacheLock.interoperatesWithPython(), "flock needs Linux and native access");
        String sha = sha("model.safetensors", bertFiles);
        Path lockFile = cache.resolve(".locks/models--test-org--tiny-bert/" + sha + ".lock");
        // What Python's filelock does on Unix: open the lock file, flock(LOCK_EX) it, hold it while downloading.
        String script = "import fcntl, os, sys, time\n"
                + "p = sys.argv[1]; os.makedirs(os.path.dirname(p), exist_ok=True)\n"
                + "fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644); fcntl.flock(fd, fcntl.LOCK_EX)\n"
                + "print('locked', flush=True); time.sleep(1.5); os.close(fd)\n";
        Process python;
        try {
            python = new ProcessBuilder("python3", "-c", script, lockFile.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            org.junit.jupiter.api.Assumptions.abort("no python3 here");
            return;
        }
        String first = new java.io.BufferedReader(new java.io.InputStreamReader(python.getInputStream())).readLine();
        assertEquals("locked", first);
        long t0 = System.nanoTime();
        Path snap = client().build().snapshot(BERT);
        long waitedMs = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(python.waitFor(10, TimeUnit.SECONDS));
        assertTrue(waitedMs >= 1000, "the download should wait for Python's lock, took " + waitedMs + " ms");
        assertArrayEquals(bertFiles.get("model.safetensors"), Files.readAllBytes(snap.resolve("model.safetensors")));
    }

    @Test
    void readsAHandMadePythonCacheWithoutNetwork() throws IOException {
        // The layout huggingface_hub writes, made by hand.
        String commit = "0123456789abcdef0123456789abcdef01234567";
        Path repo = cache.resolve("models--google-bert--tiny");
        byte[] config = Files.readAllBytes(golden("bert/masked_lm").resolve("config.json"));
        byte[] weights = Files.readAllBytes(golden("bert/masked_lm").resolve("model.safetensors"));
        Files.createDirectories(repo.resolve("blobs"));
        Files.write(repo.resolve("blobs").resolve(FakeHub.gitSha1(config)), config);
        Files.write(repo.resolve("blobs").resolve(FakeHub.sha256(weights)), weights);
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), commit);
        Path snap = Files.createDirectories(repo.resolve("snapshots").resolve(commit));
        Files.createSymbolicLink(snap.resolve("config.json"), Path.of("../../blobs/" + FakeHub.gitSha1(config)));
        Files.createSymbolicLink(snap.resolve("model.safetensors"), Path.of("../../blobs/" + FakeHub.sha256(weights)));

        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        String nowhere = "http://127.0.0.1:" + closedPort;
        assertEquals(snap, HubClient.builder().cacheDir(cache).offline(true).build().snapshot("google-bert/tiny"));
        assertEquals(snap, HubClient.builder().cacheDir(cache).endpoint(nowhere).progress(DownloadProgress.silent())
                .build().snapshot("google-bert/tiny"));
        assertEquals(snap, HubClient.builder().cacheDir(cache).endpoint(nowhere).build().snapshot("google-bert/tiny", commit));
        assertArrayEquals(weights, Files.readAllBytes(snap.resolve("model.safetensors")));
    }

    @Test
    void revisionAsCommitHashOrTag() throws IOException {
        Path snap = client().build().snapshot(BERT, C0);
        assertEquals(repoDir(BERT).resolve("snapshots").resolve(C0), snap);
        assertTrue(Files.isRegularFile(snap.resolve("pytorch_model.bin")));
        assertFalse(Files.exists(repoDir(BERT).resolve("refs")), "a commit hash writes no ref");
        int before = hub.seen.size();
        assertEquals(snap, client().build().snapshot(BERT, C0));
        assertEquals(before, hub.seen.size(), "a cached commit needs no request");

        Path tagged = client().build().snapshot(BERT, "v0.1");
        assertEquals(snap, tagged);
        assertEquals(C0, Files.readString(repoDir(BERT).resolve("refs/v0.1")));
        assertTrue(filesUnder(repoDir(BERT).resolve("refs")).size() == 1);
    }

    @Test
    void tokenGoesToTheHubButNotToTheRedirectHost() {
        HubException e = assertThrows(HubException.class, () -> client().build().snapshot("test-org/gated"));
        assertEquals(HubException.Reason.GATED, e.reason());
        assertTrue(e.getMessage().startsWith("gated or private repository 'test-org/gated': set HF_TOKEN"), e.getMessage());

        Path snap = client().token("secret-token").build().snapshot("test-org/gated");
        assertTrue(Files.isRegularFile(snap.resolve("model.safetensors")));
        List<FakeHub.Seen> withToken = hub.seen.stream().filter(s -> "Bearer secret-token".equals(s.authorization())).toList();
        assertFalse(withToken.isEmpty());
        assertTrue(withToken.stream().allMatch(s -> s.server().equals("hub")));
        assertTrue(hub.seen.stream().filter(s -> s.server().equals("cdn")).allMatch(s -> s.authorization() == null));
        assertTrue(hub.seen.stream().anyMatch(s -> s.server().equals("cdn")));
    }

    @Test
    void shardedIndexDownloadsEveryShard() throws IOException {
        Path snap = client().build().snapshot("test-org/sharded");
        for (String f : List.of("model.safetensors.index.json", "model-00001-of-00003.safetensors",
                "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors")) {
            assertTrue(Files.isSymbolicLink(snap.resolve(f)), f);
            assertTrue(Files.isRegularFile(snap.resolve(f)), f);
        }
        assertEquals(snap, new HubCache(cache).find(new RepoId("test-org/sharded"), "main"));
        // a missing shard makes the cached copy unusable, naming the shard
        Files.delete(snap.resolve("model-00002-of-00003.safetensors"));
        HubException e = assertThrows(HubException.class, () -> client().offline(true).build().snapshot("test-org/sharded"));
        assertTrue(e.getMessage().contains("model-00002-of-00003.safetensors"), e.getMessage());
        // online, the missing shard is fetched again
        assertEquals(snap, client().build().snapshot("test-org/sharded"));
        assertTrue(Files.isRegularFile(snap.resolve("model-00002-of-00003.safetensors")));
    }

    @Test
    void clearOneLineErrors() throws IOException {
        HubException e = assertThrows(HubException.class, () -> client().build().snapshot("test-org/nope"));
        assertEquals(HubException.Reason.REPO_NOT_FOUND, e.reason());
        assertTrue(e.getMessage().startsWith("repository not found: 'test-org/nope'"), e.getMessage());

        e = assertThrows(HubException.class, () -> client().build().snapshot(BERT, "no-such-branch"));
        assertEquals(HubException.Reason.REVISION_NOT_FOUND, e.reason());
        assertTrue(e.getMessage().startsWith("revision not found: 'no-such-branch'"), e.getMessage());

        e = assertThrows(HubException.class, () -> client().build().download(BERT, "main", "nope.txt"));
        assertEquals(HubException.Reason.ENTRY_NOT_FOUND, e.reason());

        e = assertThrows(HubException.class, () -> client().build().snapshot(BERT, "../../../etc"));
        assertTrue(e.getMessage().startsWith("invalid revision"), e.getMessage());

        e = assertThrows(HubException.class, () -> client().build().snapshot("a/b/c"));
        assertTrue(e.getMessage().startsWith("invalid model id 'a/b/c'"), e.getMessage());

        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        HubClient nowhere = client().endpoint("http://127.0.0.1:" + closedPort).build();
        e = assertThrows(HubException.class, () -> nowhere.snapshot(BERT));
        assertEquals(HubException.Reason.NETWORK, e.reason());
        assertTrue(e.getMessage().startsWith("cannot reach http://127.0.0.1:" + closedPort + " (connection refused)"), e.getMessage());
        for (HubException x : List.of(e)) {
            assertFalse(x.getMessage().contains("\n"));
        }
    }

    @Test
    void aStalledDownloadTimesOutInsteadOfHanging() {
        String sha = sha("model.safetensors", bertFiles);
        hub.stall.add(sha);
        HubException e = assertTimeoutPreemptively(Duration.ofSeconds(8), () -> assertThrows(HubException.class,
                () -> client().readTimeout(Duration.ofSeconds(1)).retries(0).build().snapshot(BERT)));
        assertEquals(HubException.Reason.NETWORK, e.reason());
        assertTrue(e.getMessage().contains("no data for 1 s"), e.getMessage());
    }

    @Test
    void listsAndRemovesCachedRepositories() {
        client().build().snapshot(BERT);
        client().build().snapshot(BERT, C0);
        client().build().snapshot("gpt2");
        HubCache hc = new HubCache(cache);
        List<HubCache.CachedRepo> repos = hc.list();
        assertEquals(List.of("gpt2", BERT), repos.stream().map(HubCache.CachedRepo::repoId).toList());
        HubCache.CachedRepo bert = repos.get(1);
        assertEquals(2, bert.revisions().size());
        assertEquals(C1, bert.revisions().get(0).commit());
        assertEquals(List.of("main"), bert.revisions().get(0).refs());
        assertEquals(List.of(), bert.revisions().get(1).refs());
        assertTrue(bert.size() > bertFiles.get("model.safetensors").length + oldBertFiles.get("pytorch_model.bin").length);
        // one revision: its snapshot, its ref, and the blobs only it used go; shared blobs stay
        String oldConfig = FakeHub.gitSha1(oldBertFiles.get("config.json"));
        String bin = sha("pytorch_model.bin", oldBertFiles);
        assertEquals(C0, hc.remove(new RepoId(BERT), C0));
        assertFalse(Files.exists(repoDir(BERT).resolve("snapshots").resolve(C0)));
        assertFalse(Files.exists(repoDir(BERT).resolve("blobs").resolve(oldConfig)));
        assertFalse(Files.exists(repoDir(BERT).resolve("blobs").resolve(bin)));
        assertEquals(hc.find(new RepoId(BERT), "main"), repoDir(BERT).resolve("snapshots").resolve(C1));
        assertEquals(1, hc.list().get(1).revisions().size());
        assertEquals(C1, hc.remove(new RepoId(BERT), "main"));
        assertFalse(Files.exists(repoDir(BERT).resolve("refs/main")));
        assertEquals(null, hc.remove(new RepoId(BERT), "main"));

        assertTrue(hc.remove(new RepoId(BERT)));
        assertFalse(Files.exists(repoDir(BERT)));
        assertFalse(Files.exists(cache.resolve(".locks/models--test-org--tiny-bert")));
        assertFalse(hc.remove(new RepoId(BERT)));
        assertEquals(List.of("gpt2"), hc.list().stream().map(HubCache.CachedRepo::repoId).toList());
    }

    @Test
    void environmentIsReadLikeHuggingFaceHub(@TempDir Path home) throws IOException {
        String user = System.getProperty("user.home");
        assertEquals(Path.of(user, ".cache/huggingface/hub"), new HubEnvironment(Map.of()).cacheDir());
        assertEquals(Path.of("/x/huggingface/hub"), new HubEnvironment(Map.of("XDG_CACHE_HOME", "/x")).cacheDir());
        assertEquals(Path.of("/h/hub"), new HubEnvironment(Map.of("XDG_CACHE_HOME", "/x", "HF_HOME", "/h")).cacheDir());
        assertEquals(Path.of("/c"), new HubEnvironment(Map.of("HF_HOME", "/h", "HF_HUB_CACHE", "/c")).cacheDir());
        assertEquals(Path.of(user, "hf"), new HubEnvironment(Map.of("HF_HUB_CACHE", "~/hf")).cacheDir());
        assertEquals(HubClient.DEFAULT_ENDPOINT, new HubEnvironment(Map.of()).endpoint());
        assertEquals("http://mirror:8080", new HubEnvironment(Map.of("HF_ENDPOINT", "http://mirror:8080/")).endpoint());

        Files.writeString(home.resolve("token"), "hf_file_token\n");
        assertEquals("hf_file_token", new HubEnvironment(Map.of("HF_HOME", home.toString())).token());
        assertEquals("hf_env", new HubEnvironment(Map.of("HF_HOME", home.toString(), "HF_TOKEN", "hf_env")).token());
        assertNull(new HubEnvironment(Map.of("HF_HOME", home.resolve("none").toString())).token());

        assertTrue(new HubEnvironment(Map.of("HF_HUB_OFFLINE", "1")).offline());
        assertTrue(new HubEnvironment(Map.of("HF_HUB_OFFLINE", "true")).offline());
        assertTrue(new HubEnvironment(Map.of("TRANSFORMERS_OFFLINE", "YES")).offline());
        assertFalse(new HubEnvironment(Map.of("HF_HUB_OFFLINE", "0")).offline());
        assertFalse(new HubEnvironment(Map.of()).offline());
    }

    @Test
    void modelIds() {
        assertTrue(RepoId.isValid("gpt2"));
        assertTrue(RepoId.isValid("distilbert/distilroberta-base"));
        assertFalse(RepoId.isValid("a/b/c"));
        assertFalse(RepoId.isValid("./model"));
        assertFalse(RepoId.isValid("a--b"));
        assertFalse(RepoId.isValid("/abs/path"));
        assertEquals("models--openai-community--gpt2", new RepoId("openai-community/gpt2").folderName());
        assertEquals("openai-community/gpt2", RepoId.fromFolderName("models--openai-community--gpt2"));
        assertTrue(RepoId.isCommitHash(C1));
        assertFalse(RepoId.isCommitHash("main"));
        assertEquals("abc", HubClient.normalizeEtag("W/\"abc\""));
        assertEquals("refs%2Fpr%2F1", HubClient.encode("refs/pr/1", false));
    }
}
