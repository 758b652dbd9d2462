package dev.jformers.loaders.hub;

import java.util.regex.Pattern;

/**
 * A Hugging Face model id: {@code org/name} or a legacy one-part id such as {@code gpt2}, checked
 * by the rules huggingface_hub applies (letters, digits, {@code - _ .}, at most 96 characters a
 * part, no {@code --} or {@code ..}, not starting or ending with {@code -} or {@code .}). Its
 * folder in the cache is {@code models--org--name}.
 */
public record RepoId(String id) {
    private static final Pattern VALID = Pattern.compile("^(\\b[\\w\\-.]+\\b/)?\\b[\\w\\-.]{1,96}\\b$");
    private static final Pattern COMMIT = Pattern.compile("^[0-9a-f]{40}$");

    public RepoId {
        String why = whyInvalid(id);
        if (why != null) {
            throw new HubException(HubException.Reason.OTHER, "invalid model id '" + id + "': " + why);
        }
    }

    /** Null when {@code id} is a valid model id, else the reason it is not. */
    public static String whyInvalid(String id) {
        if (id == null || id.isEmpty()) {
            return "empty";
        }
        if (id.length() > 96 * 2 + 1 || !VALID.matcher(id).matches()) {
            return "expected 'org/name' or 'name' made of letters, digits, '-', '_' and '.'";
        }
        if (id.contains("--") || id.contains("..")) {
            return "'--' and '..' are not allowed";
        }
        return null;
    }

    public static boolean isValid(String id) {
        return whyInvalid(id) == null;
    }

    /** True for a full 40-hex commit hash (a revision that needs no ref file). */
    public static boolean isCommitHash(String revision) {
        return revision != null && COMMIT.matcher(revision).matches();
    }

    /** {@code models--org--name}, the repository's folder in the cache. */
    public String folderName() {
        return "models--" + id.replace("/", "--");
    }

    /** The id a cache folder name stands for ({@code models--org--name} → {@code org/name}); null for other folders. */
    public static String fromFolderName(String folder) {
        if (!folder.startsWith("models--")) {
            return null;
        }
        return folder.substring("models--".length()).replace("--", "/");
    }

    @Override
    public String toString() {
        return id;
    }
}
