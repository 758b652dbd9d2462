package dev.jformers.loaders;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * Coverage-guided fuzzing of every loader with Jazzer: {@code scripts/fuzz.sh} runs each target
 * for N minutes ({@code JAZZER_FUZZ=1}). Disabled in the plain test run, where
 * {@link FuzzCorpusTest} replays the committed corpora in {@code LoaderFuzzTestInputs/} without
 * Jazzer's agent (which costs seconds to attach).
 */
@EnabledIfEnvironmentVariable(named = "JAZZER_FUZZ", matches = "1")
class LoaderFuzzTest {
    @FuzzTest
    void safetensors(byte[] data) {
        LoaderFuzzTargets.safetensors(data);
    }

    @FuzzTest
    void torch(byte[] data) {
        LoaderFuzzTargets.torch(data);
    }

    @FuzzTest
    void pickle(byte[] data) {
        LoaderFuzzTargets.pickle(data);
    }

    @FuzzTest
    void tfIndex(byte[] data) {
        LoaderFuzzTargets.tfIndex(data);
    }

    @FuzzTest
    void onnx(byte[] data) {
        LoaderFuzzTargets.onnx(data);
    }
}
