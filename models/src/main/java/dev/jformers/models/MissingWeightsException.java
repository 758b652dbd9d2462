package dev.jformers.models;

import dev.jformers.core.JformersException;

import java.util.List;

/** A checkpoint lacks weights the model needs; the message names every one of them. */
public class MissingWeightsException extends JformersException {
    private final List<String> missing;

    public MissingWeightsException(String model, String source, List<String> missing) {
        super(model + ": " + missing.size() + " weight(s) missing from " + source + ": "
                + String.join(", ", missing.size() > 20 ? missing.subList(0, 20) : missing)
                + (missing.size() > 20 ? ", …" : ""));
        this.missing = List.copyOf(missing);
    }

    public List<String> missing() {
        return missing;
    }
}
