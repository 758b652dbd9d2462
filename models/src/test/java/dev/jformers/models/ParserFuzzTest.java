package dev.jformers.models;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * Jazzer fuzzing of config.json (parsed, checked against a tiny BERT's weights, model built and
 * run) and tokenizer.json (parsed, one sentence encoded); see {@code scripts/fuzz.sh}. Disabled
 * in the plain test run, where {@link ParserCorpusTest} replays {@code ParserFuzzTestInputs/}.
 */
@EnabledIfEnvironmentVariable(named = "JAZZER_FUZZ", matches = "1")
class ParserFuzzTest {
    @FuzzTest
    void configJson(byte[] data) {
        ParserFuzzTargets.configJson(data);
    }

    @FuzzTest
    void tokenizerJson(byte[] data) {
        ParserFuzzTargets.tokenizerJson(data);
    }
}
