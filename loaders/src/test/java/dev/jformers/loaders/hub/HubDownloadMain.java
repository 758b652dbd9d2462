package dev.jformers.loaders.hub;

import java.nio.file.Path;

/** A second JVM for the cross-process lock test: {@code ENDPOINT CACHE REPO} → prints the snapshot path. */
public final class HubDownloadMain {
    private HubDownloadMain() {
    }

    public static void main(String[] args) {
        Path snap = HubClient.builder().endpoint(args[0]).cacheDir(Path.of(args[1])).progress(DownloadProgress.silent())
                .build().snapshot(args[2]);
        System.out.println(snap);
    }
}
