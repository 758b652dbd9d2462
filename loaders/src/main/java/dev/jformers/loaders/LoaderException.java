package dev.jformers.loaders;

import dev.jformers.core.JformersException;

import java.nio.file.Path;

/**
 * The one exception loaders throw for input they cannot read: a missing file, a truncated or
 * lying header, a forbidden pickle global, a bad checksum. The message names the file, the
 * tensor (when there is one) and the reason.
 */
public class LoaderException extends JformersException {
    public LoaderException(String message) {
        super(message);
    }

    public LoaderException(String message, Throwable cause) {
        super(message, cause);
    }

    /** "FILE: tensor 'NAME': REASON" (the tensor part left out when {@code tensor} is null). */
    public static LoaderException of(Path file, String tensor, String reason) {
        return new LoaderException(file + ": " + (tensor == null ? "" : "tensor '" + tensor + "': ") + reason);
    }

    public static LoaderException of(Path file, String tensor, String reason, Throwable cause) {
        return new LoaderException(file + ": " + (tensor == null ? "" : "tensor '" + tensor + "': ") + reason, cause);
    }
}
