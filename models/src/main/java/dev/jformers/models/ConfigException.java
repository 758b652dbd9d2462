package dev.jformers.models;

import dev.jformers.core.JformersException;

/** config.json is missing, unreadable, or asks for something jformers does not support. */
public class ConfigException extends JformersException {
    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
