package dev.jformers.loaders.hub;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The settings huggingface_hub reads from the environment, read the same way here:
 * <ul>
 *   <li>cache: {@code HF_HUB_CACHE}, else {@code HUGGINGFACE_HUB_CACHE}, else {@code $HF_HOME/hub};
 *       {@code HF_HOME} defaults to {@code $XDG_CACHE_HOME/huggingface}, else {@code ~/.cache/huggingface};</li>
 *   <li>endpoint: {@code HF_ENDPOINT}, else {@value HubClient#DEFAULT_ENDPOINT};</li>
 *   <li>token: {@code HF_TOKEN}, else {@code HUGGING_FACE_HUB_TOKEN}, else the file {@code HF_TOKEN_PATH}
 *       (default {@code $HF_HOME/token});</li>
 *   <li>offline: {@code HF_HUB_OFFLINE} or {@code TRANSFORMERS_OFFLINE} set to 1, ON, YES or TRUE.</li>
 * </ul>
 * The system properties {@code jformers.hf.cache}, {@code jformers.hf.endpoint},
 * {@code jformers.hf.token} and {@code jformers.hf.offline} take precedence (tests and embedding
 * applications can set them; environment variables cannot be set from inside a JVM).
 */
public final class HubEnvironment {
    private static final Set<String> TRUE = Set.of("1", "ON", "YES", "TRUE");

    private final Map<String, String> env;

    public HubEnvironment(Map<String, String> env) {
        this.env = env;
    }

    /** This process's environment and system properties. */
    public static HubEnvironment current() {
        return new HubEnvironment(System.getenv());
    }

    private String get(String property, String... variables) {
        if (property != null) {
            String p = System.getProperty(property);
            if (p != null && !p.isBlank()) {
                return p.strip();
            }
        }
        for (String v : variables) {
            String value = env.get(v);
            if (value != null && !value.isBlank()) {
                return value.strip();
            }
        }
        return null;
    }

    private static Path expand(String path) {
        if (path.equals("~") || path.startsWith("~/")) {
            return Path.of(System.getProperty("user.home") + path.substring(1));
        }
        return Path.of(path);
    }

    /** {@code $HF_HOME}, by default {@code $XDG_CACHE_HOME/huggingface} or {@code ~/.cache/huggingface}. */
    public Path hfHome() {
        String home = get(null, "HF_HOME");
        if (home != null) {
            return expand(home);
        }
        String xdg = get(null, "XDG_CACHE_HOME");
        return (xdg != null ? expand(xdg) : expand("~/.cache")).resolve("huggingface");
    }

    /** The hub cache folder (the one holding {@code models--org--name}). */
    public Path cacheDir() {
        String dir = get("jformers.hf.cache", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE");
        return dir != null ? expand(dir) : hfHome().resolve("hub");
    }

    public String endpoint() {
        String e = get("jformers.hf.endpoint", "HF_ENDPOINT");
        e = e != null ? e : HubClient.DEFAULT_ENDPOINT;
        while (e.endsWith("/")) {
            e = e.substring(0, e.length() - 1);
        }
        return e;
    }

    /** The access token, or null when there is none. */
    public String token() {
        String t = get("jformers.hf.token", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN");
        if (t != null) {
            return t;
        }
        String pathVar = get(null, "HF_TOKEN_PATH");
        Path file = pathVar != null ? expand(pathVar) : hfHome().resolve("token");
        try {
            if (Files.isRegularFile(file)) {
                String s = Files.readString(file).strip();
                return s.isEmpty() ? null : s;
            }
        } catch (IOException e) {
            return null;    // an unreadable token file is the same as none
        }
        return null;
    }

    public boolean offline() {
        for (String v : new String[] {get("jformers.hf.offline"), get(null, "HF_HUB_OFFLINE"), get(null, "TRANSFORMERS_OFFLINE")}) {
            if (v != null && TRUE.contains(v.toUpperCase(Locale.ROOT))) {
                return true;
            }
        }
        return false;
    }
}
