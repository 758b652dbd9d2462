package dev.jformers.training;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.Random;

/**
 * Turns a list of feature rows ({@code input_ids}, {@code attention_mask}, {@code labels}… as JSON objects,
 * Hugging Face's dataset rows) into one {@link Batch}. {@code random} is seeded per batch by the Trainer, so
 * random collators (masked LM) give the same batch again when a run is resumed.
 */
@FunctionalInterface
public interface DataCollator {
    Batch collate(List<ObjectNode> rows, Random random);
}
