package dev.jformers.core;

/** Base of every exception jformers throws on purpose: catching it catches all of ours. */
public class JformersException extends RuntimeException {
    public JformersException(String message) {
        super(message);
    }

    public JformersException(String message, Throwable cause) {
        super(message, cause);
    }
}
