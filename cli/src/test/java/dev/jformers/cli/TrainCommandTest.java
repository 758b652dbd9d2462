package dev.jformers.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.loaders.SafetensorsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code jformers train}: the golden command lines reproduce PyTorch's runs (parameters and logged
 * losses), text classification from a CSV writes labels into config.json and serves through the pipeline,
 * and bad input ends with one line naming the file.
 */
class TrainCommandTest {
    static Path golden(String name) {
        return CoreCommandsTest.testdata().resolve("golden-training").resolve(name);
    }

    static JsonNode read(Path file) throws Exception {
        return CoreCommandsTest.JSON.readTree(file.toFile());
    }

    /** Every element of {@code expected} within atol (per-element ranges where given) + rtol·|e|. */
    static void compare(Path actualFile, Path expectedFile, double defaultAtol, double rtol, JsonNode looser) {
        try (SafetensorsFile actual = SafetensorsFile.open(actualFile); SafetensorsFile expected = SafetensorsFile.open(expectedFile)) {
            for (String name : expected.names()) {
                if (name.endsWith("position_ids") || name.endsWith("attn.bias") || name.endsWith("attn.masked_bias")) {
                    continue;                                      // buffers
                }
                assertTrue(actual.names().contains(name), "saved model lacks " + name);
                float[] e = expected.get(name).toFloatArray(), a = actual.get(name).toFloatArray();
                double[] atol = new double[e.length];
                java.util.Arrays.fill(atol, defaultAtol);
                if (looser != null && looser.has(name)) {
                    for (JsonNode r : looser.get(name)) {
                        java.util.Arrays.fill(atol, r.get(0).asInt(), r.get(1).asInt(), r.get(2).asDouble());
                    }
                }
                for (int i = 0; i < e.length; i++) {
                    assertTrue(Math.abs(a[i] - e[i]) <= atol[i] + rtol * Math.abs(e[i]),
                            name + "[" + i + "] = " + a[i] + ", PyTorch " + e[i]);
                }
            }
        }
    }

    /**
     * The golden command line on every golden case but the frozen-base one (freezing has no option): the
     * pre-tokenized rows of each head (float and multi-label labels, NSP, multiple choice's rows of choices, QA
     * positions) reproduce PyTorch's parameters after 3 AdamW steps and its logged losses, within the golden
     * tolerances.
     */
    @ParameterizedTest
    @ValueSource(strings = {"bert/masked_lm", "bert/multiple_choice", "bert/pretraining", "bert/question_answering",
            "bert/sequence_classification", "bert/sequence_classification_multi_label",
            "bert/sequence_classification_regression", "bert/token_classification", "distilbert/masked_lm",
            "distilbert/question_answering", "distilbert/sequence_classification", "distilbert/token_classification",
            "gpt2/lm_head", "gpt2/sequence_classification", "roberta/masked_lm", "roberta/question_answering",
            "roberta/sequence_classification", "roberta/token_classification"})
    void goldenAdamWCommandLineReproducesPyTorch(String name, @TempDir Path out) throws Exception {
        Path c = golden(name);
        CoreCommandsTest.Run r = CoreCommandsTest.run("train", "--model", c.toString(), "--train",
                c.resolve("train.jsonl").toString(), "--output", out.toString(), "--optim", "adamw_torch",
                "--learning-rate", "1e-3", "--weight-decay", "0.01", "--warmup-steps", "1", "--max-steps", "3",
                "--max-grad-norm", "1.0", "--per-device-train-batch-size", "2", "--no-shuffle", "--logging-steps", "1",
                "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode g = read(c.resolve("golden.json"));
        JsonNode tol = g.get("after_adamw_tolerance");
        compare(out.resolve("model.safetensors"), c.resolve("after_adamw.safetensors"), tol.get("default_atol").asDouble(),
                tol.get("rtol").asDouble(), tol.get("looser_atol"));
        JsonNode log = read(out.resolve("trainer_state.json")).get("log_history");
        JsonNode lossTolerance = g.get("tolerance").get("loss");
        for (int i = 0; i < 3; i++) {
            double expected = g.get("adamw").get("steps").get(i).get("loss").asDouble();
            assertEquals(expected, log.get(i).get("loss").asDouble(), lossTolerance.get("atol").asDouble()
                    + lossTolerance.get("rtol").asDouble() * Math.abs(expected), name + " loss " + i);
        }
        assertEquals(3, read(out.resolve("trainer_state.json")).get("global_step").asInt());
        assertTrue(read(r.out().strip().lines().reduce((a, b) -> b).orElseThrow()).has("train_loss"));
        assertFalse(r.err().contains("\r"), "no progress bar redraws where stderr is not a terminal");
    }

    static JsonNode read(String json) throws Exception {
        return CoreCommandsTest.JSON.readTree(json);
    }

    @Test
    void goldenSgdCommandLineReproducesPyTorch(@TempDir Path out) throws Exception {
        Path c = golden("roberta/sequence_classification");
        CoreCommandsTest.Run r = CoreCommandsTest.run("train", "--model", c.toString(), "--train",
                c.resolve("train.jsonl").toString(), "--output", out.toString(), "--optim", "sgd", "--learning-rate", "0.1",
                "--max-steps", "1", "--max-grad-norm", "0", "--lr-scheduler-type", "constant",
                "--per-device-train-batch-size", "2", "--no-shuffle", "--logging-steps", "1", "--disable-tqdm");
        assertEquals(0, r.code(), r.err());
        JsonNode tol = read(c.resolve("golden.json")).get("tolerance").get("after_sgd");
        compare(out.resolve("model.safetensors"), c.resolve("after_sgd.safetensors"), tol.get("atol").asDouble(),
                tol.get("rtol").asDouble(), null);

        // evaluate without TASK: the class's own loss on pre-tokenized rows; batch 0 at the initial weights is golden
        Path batch0 = out.resolve("batch0.jsonl");
        Files.write(batch0, Files.readAllLines(c.resolve("train.jsonl")).subList(0, 2));
        CoreCommandsTest.Run ev = CoreCommandsTest.run("evaluate", "--model", c.toString(), "--data", batch0.toString(),
                "--json");
        assertEquals(0, ev.code(), ev.err());
        JsonNode g = read(c.resolve("golden.json"));
        double expected = g.get("sgd").get("steps").get(0).get("loss").asDouble();
        JsonNode m = read(ev.out().strip());
        assertEquals(java.util.List.of("loss", "samples"), fieldNames(m));
        assertEquals(expected, m.get("loss").asDouble(), g.get("tolerance").get("loss").get("atol").asDouble()
                + g.get("tolerance").get("loss").get("rtol").asDouble() * expected);
        assertEquals(2, m.get("samples").asInt());
    }

    /** A base BERT + a CSV of labelled texts: a new head, labels in config.json, and the pipeline serves it. */
    @Test
    void textClassificationFromCsvServesThroughThePipeline(@TempDir Path tmp) throws Exception {
        Path model = CoreCommandsTest.testdata().resolve("golden/pipelines/feature-extraction-bert");
        Path csv = tmp.resolve("train.csv");
        StringBuilder b = new StringBuilder("text,label\n");
        for (int i = 0; i < 8; i++) {
            b.append("\"great, wonderful movie ").append(i).append("\",pos\n").append("awful boring film ").append(i).append(",neg\n");
        }
        Files.writeString(csv, b.toString());
        Path out = tmp.resolve("out");
        CoreCommandsTest.Run r = CoreCommandsTest.run("train", "text-classification", "--model", model.toString(),
                "--train", csv.toString(), "--eval", csv.toString(), "--output", out.toString(), "--num-train-epochs", "6",
                "--learning-rate", "1e-2", "--per-device-train-batch-size", "4", "--save-strategy", "epoch",
                "--save-total-limit", "1", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode metrics = read(r.out().strip().lines().reduce((a, c) -> c).orElseThrow());
        assertEquals(1.0, metrics.get("eval_accuracy").asDouble(), "the training set is easy: " + metrics);
        JsonNode config = read(out.resolve("config.json"));
        assertEquals("neg", config.get("id2label").get("0").asText());
        assertEquals(1, config.get("label2id").get("pos").asInt());
        assertEquals("BertForSequenceClassification", config.get("architectures").get(0).asText());
        assertTrue(Files.isRegularFile(out.resolve("vocab.txt")), "tokenizer files saved");
        assertTrue(Files.isDirectory(out.resolve("checkpoint-24")) && !Files.exists(out.resolve("checkpoint-20")),
                "one epoch checkpoint kept");
        assertEquals("neg", read(out.resolve("checkpoint-24/config.json")).get("id2label").get("0").asText());
        CoreCommandsTest.Run served = CoreCommandsTest.run("text-classification", "--model", out.toString(), "--json",
                "awful boring film 3");
        assertEquals(0, served.code(), served.err());
        assertEquals("neg", read(served.out().strip()).get(0).get("label").asText());
        // evaluate reads the same file and gives the same accuracy
        CoreCommandsTest.Run ev = CoreCommandsTest.run("evaluate", "text-classification", "--model", out.toString(),
                "--data", csv.toString(), "--json");
        assertEquals(0, ev.code(), ev.err());
        JsonNode e = read(ev.out().strip());
        assertEquals(metrics.get("eval_accuracy").asDouble(), e.get("accuracy").asDouble(), 0.0);
        assertEquals(metrics.get("eval_loss").asDouble(), e.get("loss").asDouble(), 1e-5);
        assertEquals(16, e.get("samples").asInt());
    }

    @Test
    void badInputEndsWithOneLineNamingTheFile(@TempDir Path tmp) throws Exception {
        Path c = golden("bert/sequence_classification");
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, Files.readAllLines(c.resolve("train.jsonl")).getFirst() + "\n{\"input_ids\": [1, 2\n");
        CoreCommandsTest.Run r = CoreCommandsTest.run("train", "--model", c.toString(), "--train", bad.toString(),
                "--output", tmp.resolve("o1").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("bad.jsonl: line 2") && r.err().lines().count() == 1, r.err());

        Path empty = tmp.resolve("empty.jsonl");
        Files.writeString(empty, "");
        r = CoreCommandsTest.run("train", "--model", c.toString(), "--train", empty.toString(), "--output",
                tmp.resolve("o2").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("empty.jsonl") && r.err().contains("empty"), r.err());

        Path used = tmp.resolve("used");
        Files.createDirectories(used);
        Files.writeString(used.resolve("config.json"), "{}");
        r = CoreCommandsTest.run("train", "--model", c.toString(), "--train", c.resolve("train.jsonl").toString(),
                "--output", used.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--overwrite-output-dir"), r.err());

        Path model = CoreCommandsTest.testdata().resolve("golden/pipelines/feature-extraction-bert");
        Path csv = tmp.resolve("t.csv");
        Files.writeString(csv, "sentence,label\nhello,a\n");
        r = CoreCommandsTest.run("train", "text-classification", "--model", model.toString(), "--train", csv.toString(),
                "--output", tmp.resolve("o3").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("t.csv: line 2:") && r.err().contains("no column 'text'"), r.err());

        Path dev = tmp.resolve("dev.csv");
        Files.writeString(dev, "text,label\nhello,b\n");
        Files.writeString(csv, "text,label\nhello,a\n");
        r = CoreCommandsTest.run("train", "text-classification", "--model", model.toString(), "--train", csv.toString(),
                "--eval", dev.toString(), "--output", tmp.resolve("o4").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("dev.csv: line 2:") && r.err().contains("label 'b'"), r.err());

        Files.writeString(dev, "text,label\nhello,a\n\"hi, there\",a,extra\n");      // a malformed CSV line
        r = CoreCommandsTest.run("train", "text-classification", "--model", model.toString(), "--train", csv.toString(),
                "--eval", dev.toString(), "--output", tmp.resolve("o5").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("dev.csv: line 3: 3 fields, the header has 2"), r.err());
        Files.writeString(dev, "text,label\n");                                          // a header and no rows
        r = CoreCommandsTest.run("train", "text-classification", "--model", model.toString(), "--train", csv.toString(),
                "--eval", dev.toString(), "--output", tmp.resolve("o6").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("dev.csv: no rows"), r.err());

        r = CoreCommandsTest.run("train", "sentiment", "--model", model.toString(), "--train", csv.toString(), "--output",
                tmp.resolve("o7").toString());
        assertEquals(2, r.code(), "an unknown task is a usage error");
        assertTrue(r.err().contains("unknown task 'sentiment'"), r.err());
        r = CoreCommandsTest.run("train", "text-classification", "--model", model.toString(), "--train", csv.toString(),
                "--output", tmp.resolve("o8").toString(), "--evaluation-strategy", "steps");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("needs --eval FILE"), r.err());

        r = CoreCommandsTest.run("train", "--model", c.toString(), "--train", c.resolve("train.jsonl").toString(),
                "--output", used.toString(), "--overwrite-output-dir", "--max-steps", "1", "--save-strategy", "no");
        assertEquals(0, r.code(), r.err());
        assertEquals("BertForSequenceClassification", read(used.resolve("config.json")).get("architectures").get(0).asText());
    }

    /**
     * GPT-2 has no padding token: text-classification pads with its end-of-text token and writes it as pad_token_id
     * (HF's usual recipe), so batches of several rows train, and evaluate pads the same way.
     */
    @Test
    void gpt2TextClassificationPadsWithEndOfText(@TempDir Path tmp) throws Exception {
        Path gpt2 = CoreCommandsTest.testdata().resolve("golden/pipelines/text-generation-gpt2");
        Path data = tmp.resolve("reviews.jsonl");
        Files.writeString(data, """
                {"text": "a wonderful, moving film", "label": "pos"}
                {"text": "dull", "label": "neg"}
                {"text": "I loved every minute of it", "label": "pos"}
                {"text": "a waste of an evening", "label": "neg"}
                """);
        Path out = tmp.resolve("out");
        CoreCommandsTest.Run r = CoreCommandsTest.run("train", "text-classification", "--model", gpt2.toString(), "--train",
                data.toString(), "--eval", data.toString(), "--output", out.toString(), "--max-steps", "2",
                "--per-device-train-batch-size", "4", "--save-strategy", "no", "--backend", "scalar", "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals(50256, read(out.resolve("config.json")).get("pad_token_id").asInt());
        JsonNode trained = read(r.out().strip());
        CoreCommandsTest.Run ev = CoreCommandsTest.run("evaluate", "text-classification", "--model", out.toString(),
                "--data", data.toString(), "--backend", "scalar", "--json");
        assertEquals(0, ev.code(), ev.err());
        assertEquals(trained.get("eval_loss").asDouble(), read(ev.out().strip()).get("loss").asDouble(), 0.0);
    }

    /** token-classification and question-answering: train, then evaluate reports seqeval's and SQuAD's metrics. */
    @Test
    void tokenClassificationAndQuestionAnsweringTrainAndEvaluate(@TempDir Path tmp) throws Exception {
        Path model = CoreCommandsTest.testdata().resolve("golden/pipelines/feature-extraction-bert");
        Path ner = tmp.resolve("ner.jsonl");
        Files.writeString(ner, """
                {"tokens": ["Ishmael", "lives", "in", "Nantucket"], "ner_tags": ["B-PER", "O", "O", "B-LOC"]}
                {"tokens": ["Ahab", "sails"], "ner_tags": ["B-PER", "O"]}
                """);
        CoreCommandsTest.Run r = CoreCommandsTest.run("train", "ner", "--model", model.toString(), "--train", ner.toString(),
                "--output", tmp.resolve("ner").toString(), "--num-train-epochs", "1", "--save-strategy", "no");
        assertEquals(0, r.code(), r.err());
        assertEquals(0, read(tmp.resolve("ner/config.json")).get("label2id").get("B-LOC").asInt());
        CoreCommandsTest.Run ev = CoreCommandsTest.run("evaluate", "token-classification", "--model",
                tmp.resolve("ner").toString(), "--data", ner.toString(), "--json");
        assertEquals(0, ev.code(), ev.err());
        JsonNode m = read(ev.out().strip());
        for (String k : new String[] {"loss", "precision", "recall", "f1", "accuracy"}) {
            assertTrue(m.has(k), k + " in " + m);
        }

        Path squad = tmp.resolve("squad.json");
        Files.writeString(squad, """
                {"data": [{"paragraphs": [{"context": "Call me Ishmael. Some years ago I went to sea.",
                  "qas": [{"id": "1", "question": "Who is speaking?", "answers": [{"text": "Ishmael", "answer_start": 8}]}]}]}]}
                """);
        r = CoreCommandsTest.run("train", "question-answering", "--model", model.toString(), "--train", squad.toString(),
                "--output", tmp.resolve("qa").toString(), "--max-steps", "2", "--max-length", "16", "--save-strategy", "no");
        assertEquals(0, r.code(), r.err());
        ev = CoreCommandsTest.run("evaluate", "question-answering", "--model", tmp.resolve("qa").toString(), "--data",
                squad.toString(), "--max-length", "16", "--json");
        assertEquals(0, ev.code(), ev.err());
        m = read(ev.out().strip());
        assertTrue(m.has("exact_match") && m.has("f1") && m.get("samples").asInt() >= 2, "windows of 16 tokens: " + m);
    }

    /** --resume-from-checkpoint with a checkpoint's path (into another output folder): the run that never stopped. */
    @Test
    void resumeFromACheckpointPathContinuesExactly(@TempDir Path tmp) throws Exception {
        Path full = tmp.resolve("full"), resumed = tmp.resolve("resumed");
        CoreCommandsTest.Run r = CoreCommandsTest.run(TrainInterruptTest.train(4, "--save-steps", "2", "--output",
                full.toString()).toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        r = CoreCommandsTest.run(TrainInterruptTest.train(4, "--save-steps", "2", "--output", resumed.toString(),
                "--resume-from-checkpoint", full.resolve("checkpoint-2").toString()).toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertEquals(TrainInterruptTest.losses(full), TrainInterruptTest.losses(resumed));
        assertEquals(4, TrainInterruptTest.losses(resumed).size(), "steps 1-2 come from the checkpoint's log_history");
        assertArrayEquals(Files.readAllBytes(full.resolve("model.safetensors")), Files.readAllBytes(resumed.resolve("model.safetensors")));
        assertFalse(Files.exists(resumed.resolve("checkpoint-2")), "only the steps after the checkpoint are saved here");

        r = CoreCommandsTest.run(TrainInterruptTest.train(4, "--output", tmp.resolve("x").toString(),
                "--resume-from-checkpoint", TrainInterruptTest.GPT2.toString()).toArray(String[]::new));
        assertEquals(1, r.code());
        assertTrue(r.err().contains(TrainInterruptTest.GPT2 + " is not a checkpoint (no trainer_state.json)"), r.err());
        r = CoreCommandsTest.run(TrainInterruptTest.train(4, "--output", tmp.resolve("empty").toString(),
                "--resume-from-checkpoint", "latest").toArray(String[]::new));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("has no checkpoint-N folder to resume from"), r.err());
    }

    /**
     * A text longer than --max-length is truncated and counted; a --max-length beyond the model's positions (the
     * tiny BERT has 128) is lowered to them, as run_glue.py does, instead of failing at the first long batch.
     */
    @Test
    void longTextsAreTruncatedAndCounted(@TempDir Path tmp) throws Exception {
        Path model = CoreCommandsTest.testdata().resolve("golden/pipelines/feature-extraction-bert");
        Path data = tmp.resolve("long.jsonl");
        String longText = String.join(" ", java.util.Collections.nCopies(300, "whale"));
        Files.writeString(data, "{\"text\": \"" + longText + "\", \"label\": \"a\"}\n{\"text\": \"short\", \"label\": \"b\"}\n");
        CoreCommandsTest.Run r = CoreCommandsTest.run("train", "text-classification", "--model", model.toString(), "--train",
                data.toString(), "--output", tmp.resolve("o1").toString(), "--max-steps", "1", "--max-length", "16",
                "--save-strategy", "no", "--backend", "scalar");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("jformers: 1 text was longer than 16 tokens and truncated"), r.err());
        r = CoreCommandsTest.run("train", "text-classification", "--model", model.toString(), "--train", data.toString(),
                "--eval", data.toString(), "--output", tmp.resolve("o2").toString(), "--max-steps", "1",
                "--max-length", "512", "--save-strategy", "no", "--backend", "scalar");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("--max-length 512 is more than the model takes: using 128"), r.err());
        assertTrue(r.err().contains("2 texts were longer than 128 tokens and truncated"), "train and eval: " + r.err());

        Path rows = tmp.resolve("rows.jsonl");         // pre-tokenized rows are not truncated: refused, file and line named
        Files.writeString(rows, "{\"input_ids\": [1, 2], \"labels\": 0}\n{\"input_ids\": "
                + java.util.stream.IntStream.range(0, 41).boxed().toList() + ", \"labels\": 1}\n");
        r = CoreCommandsTest.run("train", "--model", golden("bert/sequence_classification").toString(), "--train",
                rows.toString(), "--output", tmp.resolve("o3").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("rows.jsonl: line 2: 41 input_ids, more than the model's 40 positions"), r.err());
        Files.writeString(rows, "{\"input_ids\": [1, 2], \"labels\": 0}\n{\"input_ids\": [1, \"two\"], \"labels\": 1}\n");
        r = CoreCommandsTest.run("train", "--model", golden("bert/sequence_classification").toString(), "--train",
                rows.toString(), "--output", tmp.resolve("o4").toString());
        assertEquals(1, r.code());
        assertEquals("jformers: " + rows + ": line 2: 'input_ids'[1] holds the string \"two\" where an integer was expected",
                r.err().strip());
    }

    /**
     * What Python's loaders check, with the standard library (scripts/check-checkpoint.py: safetensors' header
     * validation, from_pretrained's config.json and metadata needs, TrainerState's keys), on a trained folder and its
     * checkpoint; a file cut short is caught. Runs where python3 is found.
     */
    @Test
    void savedFoldersPassPythonsLoaderChecks(@TempDir Path tmp) throws Exception {
        Path script = CoreCommandsTest.testdata().resolveSibling("scripts").resolve("check-checkpoint.py");
        org.junit.jupiter.api.Assumptions.assumeTrue(python("--version").code() == 0, "no python3");
        Path model = CoreCommandsTest.testdata().resolve("golden/pipelines/feature-extraction-bert");
        Path csv = tmp.resolve("train.csv");
        Files.writeString(csv, "text,label\ngood film,pos\nbad film,neg\nfine film,pos\nawful film,neg\n");
        Path out = tmp.resolve("out");
        CoreCommandsTest.Run r = CoreCommandsTest.run("train", "text-classification", "--model", model.toString(), "--train",
                csv.toString(), "--output", out.toString(), "--num-train-epochs", "1", "--per-device-train-batch-size", "2",
                "--save-strategy", "epoch");
        assertEquals(0, r.code(), r.err());
        CoreCommandsTest.Run check = python(script.toString(), out.toString(), out.resolve("checkpoint-2").toString());
        assertEquals(0, check.code(), check.out());
        assertEquals("ok " + out + "\nok " + out.resolve("checkpoint-2"), check.out().strip());

        byte[] weights = Files.readAllBytes(out.resolve("model.safetensors"));
        Files.write(out.resolve("model.safetensors"), java.util.Arrays.copyOf(weights, weights.length - 4));
        check = python(script.toString(), out.toString());
        assertEquals(1, check.code(), check.out());
        assertTrue(check.out().contains("the file has " + (weights.length - 4)), check.out());
    }

    static CoreCommandsTest.Run python(String... args) throws Exception {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of("python3"));
        command.addAll(java.util.List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            return new CoreCommandsTest.Run(p.waitFor(), out, "");
        } catch (java.io.IOException e) {
            return new CoreCommandsTest.Run(-1, e.getMessage(), "");
        }
    }

    static final String BOOK = """
            Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse,
            and nothing particular to interest me on shore, I thought I would sail about a little and see the watery
            part of the world. It is a way I have of driving off the spleen and regulating the circulation.
            Whenever I find myself growing grim about the mouth; whenever it is a damp, drizzly November in my soul;
            then, I account it high time to get to sea as soon as I can.
            """;

    /**
     * text-generation from --config (HF's initialisation) with GPT-2's tokenizer and fill-mask with whole-word masking:
     * the text is cut into blocks, the final metrics hold eval_loss and eval_perplexity = exp(eval_loss), and
     * {@code evaluate --json} prints exactly {loss, perplexity, samples} for the saved model, the same loss.
     */
    @Test
    void languageModelsTrainFromTextAndEvaluate(@TempDir Path tmp) throws Exception {
        Path text = tmp.resolve("book.txt");
        Files.writeString(text, BOOK);
        Path gpt2 = CoreCommandsTest.testdata().resolve("golden/pipelines/text-generation-gpt2");
        Path out = tmp.resolve("gpt2");
        CoreCommandsTest.Run r = CoreCommandsTest.run("train", "text-generation", "--config", gpt2.resolve("config.json")
                .toString(), "--tokenizer", gpt2.toString(), "--train", text.toString(), "--eval", text.toString(),
                "--output", out.toString(), "--block-size", "16", "--max-steps", "2", "--per-device-train-batch-size", "2",
                "--learning-rate", "1e-3", "--save-strategy", "no", "--backend", "scalar", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode trained = read(r.out().strip());
        assertEquals(Math.exp(trained.get("eval_loss").asDouble()), trained.get("eval_perplexity").asDouble(), 1e-9);
        JsonNode config = read(out.resolve("config.json"));
        assertEquals("GPT2LMHeadModel", config.get("architectures").get(0).asText());
        assertTrue(Files.isRegularFile(out.resolve("vocab.json")) && Files.isRegularFile(out.resolve("merges.txt")));
        CoreCommandsTest.Run ev = CoreCommandsTest.run("evaluate", "text-generation", "--model", out.toString(), "--data",
                text.toString(), "--block-size", "16", "--backend", "scalar", "--json");
        assertEquals(0, ev.code(), ev.err());
        JsonNode m = read(ev.out().strip());
        assertEquals(java.util.List.of("loss", "perplexity", "samples"), fieldNames(m));
        assertEquals(trained.get("eval_loss").asDouble(), m.get("loss").asDouble(), 0.0, "the saved model = the trained one");
        assertEquals(trained.get("eval_samples").asInt(), m.get("samples").asInt());
        CoreCommandsTest.Run generated = CoreCommandsTest.run("text-generation", "--model", out.toString(),
                "--max-new-tokens", "3", "Call me");
        assertEquals(0, generated.code(), generated.err());
        assertTrue(generated.out().startsWith("Call me"), generated.out());

        Path bert = CoreCommandsTest.testdata().resolve("golden/pipelines/fill-mask-bert");
        Path mlm = tmp.resolve("mlm");
        r = CoreCommandsTest.run("train", "fill-mask", "--model", bert.toString(), "--train", text.toString(), "--eval",
                text.toString(), "--output", mlm.toString(), "--block-size", "16", "--max-steps", "2",
                "--whole-word-mask", "--save-strategy", "no", "--backend", "scalar", "--json");
        assertEquals(0, r.code(), r.err());
        trained = read(r.out().strip());
        ev = CoreCommandsTest.run("evaluate", "fill-mask", "--model", mlm.toString(), "--data", text.toString(),
                "--block-size", "16", "--whole-word-mask", "--backend", "scalar", "--json");
        assertEquals(0, ev.code(), ev.err());
        m = read(ev.out().strip());
        assertEquals(java.util.List.of("loss", "perplexity", "samples"), fieldNames(m));
        assertEquals(trained.get("eval_loss").asDouble(), m.get("loss").asDouble(), 0.0, "the same masks (seed 42)");
        assertEquals(Math.exp(m.get("loss").asDouble()), m.get("perplexity").asDouble(), 1e-9);
    }

    static java.util.List<String> fieldNames(JsonNode node) {
        java.util.List<String> names = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
