package dev.jformers.models.generation;

import dev.jformers.core.JformersException;

/** A generation setting or input that Hugging Face's {@code generate} would refuse (HF raises ValueError / RuntimeError). */
public class GenerationException extends JformersException {
    public GenerationException(String message) {
        super(message);
    }
}
