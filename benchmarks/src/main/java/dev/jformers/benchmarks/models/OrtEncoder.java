package dev.jformers.benchmarks.models;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * An encoder's ONNX file in ONNX Runtime as the comparisons run it ({@link OnnxRuntimeComparison},
 * {@link Int8MiniLmComparison}): jformers' intra-op thread count, one inter-op thread, every graph optimisation;
 * BERT's inputs fed by name.
 */
final class OrtEncoder implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    /** {@code model}: a file name or the file's bytes. */
    OrtEncoder(Object model, int threads) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(threads);
        options.setInterOpNumThreads(1);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        session = model instanceof byte[] bytes ? env.createSession(bytes, options) : env.createSession(model.toString(), options);
    }

    /** One forward pass; the caller closes the result. */
    OrtSession.Result run(long[][] ids, long[][] mask, long[][] types) throws OrtException {
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            for (String name : session.getInputNames()) {
                long[][] value = switch (name) {
                    case "input_ids" -> ids;
                    case "attention_mask" -> mask;
                    case "token_type_ids" -> types;
                    default -> throw new IllegalStateException("unexpected ONNX input " + name);
                };
                inputs.put(name, OnnxTensor.createTensor(env, value));
            }
            return session.run(inputs);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    /** The output named last_hidden_state, else the first one. */
    static FloatBuffer lastHiddenState(OrtSession.Result r) {
        return ((OnnxTensor) r.get("last_hidden_state").orElseGet(() -> r.get(0))).getFloatBuffer();
    }

    /** last_hidden_state of one forward pass, copied out. */
    float[] lastHiddenState(long[][] ids, long[][] mask, long[][] types) throws OrtException {
        try (OrtSession.Result r = run(ids, mask, types)) {
            FloatBuffer fb = lastHiddenState(r);
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
