package dev.jformers.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jformers.core.JformersException;
import dev.jformers.core.Tensor;
import dev.jformers.models.Labels;
import dev.jformers.models.ModelInput;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Hugging Face's {@code DataCollatorWithPadding} (dynamic padding): every row is padded on the right to the
 * longest row of its batch — {@code input_ids} with the pad id, {@code attention_mask} and
 * {@code token_type_ids} with 0, token-level {@code labels} with −100 — and the columns stacked into tensors.
 * Rows without an attention_mask get one (1 on their own tokens). Multiple-choice rows ([choices][T]) pad
 * their innermost lists the same way. Integer labels become I64, fractional ones F32 (regression,
 * multi-label).
 */
public final class DataCollatorWithPadding implements DataCollator {
    private static final List<String> LABEL_KEYS = List.of("labels", "start_positions", "end_positions",
            "next_sentence_label");
    private final int padTokenId;

    public DataCollatorWithPadding(int padTokenId) {
        this.padTokenId = padTokenId;
    }

    @Override
    public Batch collate(List<ObjectNode> rows, Random random) {
        if (rows.isEmpty()) {
            throw new JformersException("cannot collate an empty batch");
        }
        for (int i = 0; i < rows.size(); i++) {
            if (!rows.get(i).has("input_ids")) {
                throw new JformersException("row " + i + " of the batch has no input_ids (it has "
                        + fieldNames(rows.get(i)) + ")");
            }
        }
        int length = 0;
        for (ObjectNode r : rows) {
            length = Math.max(length, innerLength(r.get("input_ids")));
        }
        ModelInput in = ModelInput.of(stack(rows, "input_ids", length, padTokenId));
        in = in.withAttentionMask(rows.get(0).has("attention_mask") ? stack(rows, "attention_mask", length, 0)
                : ones(rows, length));
        if (rows.get(0).has("token_type_ids")) {
            in = in.withTokenTypeIds(stack(rows, "token_type_ids", length, 0));
        }
        Tensor[] labels = new Tensor[LABEL_KEYS.size()];
        for (int k = 0; k < labels.length; k++) {
            String key = LABEL_KEYS.get(k);
            if (rows.get(0).has(key)) {
                labels[k] = numbers(rows, key, length);
            }
        }
        return new Batch(in, new Labels(labels[0], labels[1], labels[2], labels[3]), rows.size());
    }

    private static List<String> fieldNames(ObjectNode row) {
        List<String> names = new ArrayList<>();
        row.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** Length of the innermost lists (the token dimension). */
    static int innerLength(JsonNode n) {
        if (!n.isArray()) {
            return 0;
        }
        if (n.isEmpty() || !n.get(0).isArray()) {
            return n.size();
        }
        int max = 0;
        for (JsonNode c : n) {
            max = Math.max(max, innerLength(c));
        }
        return max;
    }

    /** Rows stacked into I64 [B, …, length], each innermost list padded with {@code pad}. */
    static Tensor stack(List<ObjectNode> rows, String key, int length, long pad) {
        List<Long> values = new ArrayList<>();
        int[] inner = null;
        for (int i = 0; i < rows.size(); i++) {
            JsonNode n = rows.get(i).get(key);
            if (n == null) {
                throw new JformersException("row " + i + " of the batch has no " + key);
            }
            int[] shape = shape(n, length);
            if (inner == null) {
                inner = shape;
            } else if (!java.util.Arrays.equals(inner, shape)) {
                throw new JformersException(key + ": rows of different shapes in one batch");
            }
            flatten(n, length, pad, values);
        }
        int[] shape = new int[inner.length + 1];
        shape[0] = rows.size();
        System.arraycopy(inner, 0, shape, 1, inner.length);
        long[] flat = new long[values.size()];
        for (int i = 0; i < flat.length; i++) {
            flat[i] = values.get(i);
        }
        return Tensor.ofLongs(flat, shape);
    }

    private static int[] shape(JsonNode n, int length) {
        List<Integer> dims = new ArrayList<>();
        while (n.isArray() && !n.isEmpty() && n.get(0).isArray()) {
            dims.add(n.size());
            n = n.get(0);
        }
        if (n.isArray()) {
            dims.add(length);
        }
        return dims.stream().mapToInt(Integer::intValue).toArray();
    }

    private static void flatten(JsonNode n, int length, long pad, List<Long> out) {
        if (!n.isArray()) {
            out.add(n.longValue());
        } else if (!n.isEmpty() && n.get(0).isArray()) {
            n.forEach(c -> flatten(c, length, pad, out));
        } else {
            if (n.size() > length) {
                throw new JformersException("a row is longer (" + n.size() + ") than its input_ids (" + length + ")");
            }
            n.forEach(v -> out.add(v.longValue()));
            for (int i = n.size(); i < length; i++) {
                out.add(pad);
            }
        }
    }

    private static Tensor ones(List<ObjectNode> rows, int length) {
        long[] mask = new long[rows.size() * length];
        for (int i = 0; i < rows.size(); i++) {
            java.util.Arrays.fill(mask, i * length, i * length + rows.get(i).get("input_ids").size(), 1L);
        }
        return Tensor.ofLongs(mask, rows.size(), length);
    }

    /** Integer targets as I64 (token-level lists padded with −100), fractional ones as F32. */
    static Tensor numbers(List<ObjectNode> rows, String key, int length) {
        JsonNode first = rows.get(0).get(key);
        JsonNode leaf = first.isArray() ? first.get(0) : first;
        if (leaf == null || leaf.isIntegralNumber()) {
            return stack(rows, key, length, Labels.IGNORE_INDEX);
        }
        float[] f = new float[rows.size() * Math.max(1, first.size())];
        int k = 0;
        for (ObjectNode r : rows) {
            JsonNode v = r.get(key);
            if (v == null || v.isArray() != first.isArray() || v.size() != first.size()) {
                throw new JformersException(key + ": rows of different shapes in one batch");
            }
            if (v.isArray()) {
                for (JsonNode x : v) {
                    f[k++] = x.floatValue();
                }
            } else {
                f[k++] = v.floatValue();
            }
        }
        return first.isArray() ? Tensor.of(f, rows.size(), first.size()) : Tensor.of(f, rows.size());
    }
}
