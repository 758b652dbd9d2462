package dev.jformers.pipelines;

import dev.jformers.core.JformersException;

/** A pipeline refused its input or options; the message says what HF's pipeline would have said. */
public class PipelineException extends JformersException {
    public PipelineException(String message) {
        super(message);
    }
}
