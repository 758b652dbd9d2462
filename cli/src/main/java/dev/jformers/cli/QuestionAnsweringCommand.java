package dev.jformers.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jformers.pipelines.Pipeline;
import dev.jformers.pipelines.QuestionAnsweringPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.List;

/** {@code jformers question-answering}: HF's question-answering pipeline (extractive). */
@Command(name = "question-answering", mixinStandardHelpOptions = true,
        description = {"Find the answer to each QUESTION in --context (HF's question-answering pipeline).",
                "Example: jformers question-answering --context='My name is Sarah and I live in London.' 'Where does Sarah live?'"})
final class QuestionAnsweringCommand extends PipelineCommand {
    @Parameters(paramLabel = "QUESTION", arity = "0..*")
    List<String> questions;

    @Option(names = "--context", paramLabel = "TEXT", description = "the text to find answers in (with --input-file: the default of the records' \"context\")")
    String context;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "1", description = "answers to return (default ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--doc-stride", paramLabel = "N", description = "tokens shared by consecutive windows (default min(max_seq_len/2, 128))")
    Integer docStride;

    @Option(names = "--max-answer-len", paramLabel = "N", defaultValue = "15", description = "longest answer in tokens (default ${DEFAULT-VALUE})")
    int maxAnswerLen;

    @Option(names = "--max-seq-len", paramLabel = "N", description = "window length in tokens (default min(model max length, 384))")
    Integer maxSeqLen;

    @Option(names = "--max-question-len", paramLabel = "N", defaultValue = "64",
            description = "HF's max_question_len (used only by HF's slow-tokenizer path; default ${DEFAULT-VALUE})")
    int maxQuestionLen;

    @Option(names = "--handle-impossible-answer", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
            description = "also propose the empty answer")
    boolean handleImpossibleAnswer;

    @Option(names = "--align-to-words", arity = "0..1", fallbackValue = "true", defaultValue = "true", paramLabel = "BOOL",
            description = "widen answers to whole words (default ${DEFAULT-VALUE})")
    boolean alignToWords;

    @Override
    String task() {
        return "question-answering";
    }

    @Override
    List<String> arguments() {
        return questions == null ? List.of() : questions;
    }

    @Override
    void validate() {
        if (context == null && inputFile == null) {
            throw usage("Missing required option: '--context=TEXT'");
        }
        if (topK < 1) {
            throw usage("--top-k (HF's top_k) must be at least 1, got " + topK);
        }
        qaOptions();
    }

    private QuestionAnsweringPipeline.Options qaOptions() {
        return new QuestionAnsweringPipeline.Options(topK, docStride, maxAnswerLen, maxSeqLen,
                maxQuestionLen, handleImpossibleAnswer, alignToWords);
    }

    @Override
    List<Object> callRecords(Pipeline pipeline, List<JsonNode> records) {
        QuestionAnsweringPipeline p = (QuestionAnsweringPipeline) pipeline;
        QuestionAnsweringPipeline.Options o = qaOptions();
        List<QuestionAnsweringPipeline.Input> inputs = records.stream().map(r -> {
            String question = r.has("question") ? field(r, "question") : field(r, "text");
            String ctx = optionalField(r, "context", context);
            if (ctx == null) {
                throw new dev.jformers.pipelines.PipelineException("input record " + r + " has no \"context\" (and no --context)");
            }
            return new QuestionAnsweringPipeline.Input(question, ctx);
        }).toList();
        // batched; each result shaped as HF's call for one question (a bare answer for top_k 1)
        return p.answersAll(inputs, o).stream().map(a -> (Object) (a.size() == 1 ? a.getFirst() : a)).toList();
    }

    @Override
    void run(Pipeline pipeline, PrintWriter out) throws Exception {
        QuestionAnsweringPipeline p = (QuestionAnsweringPipeline) pipeline;
        QuestionAnsweringPipeline.Options o = qaOptions();
        if (json) {
            List<QuestionAnsweringPipeline.Input> in = questions.stream()
                    .map(q -> new QuestionAnsweringPipeline.Input(q, context)).toList();
            out.println(toJson(p.call(in, o)));
            return;
        }
        for (String q : questions) {
            out.println(q);
            out.printf("  %-8s %-6s %-6s %s%n", "score", "start", "end", "answer");
            for (QuestionAnsweringPipeline.Answer a : p.answers(q, context, o)) {
                out.printf("  %-8s %-6d %-6d %s%n", score(a.score()), a.start(), a.end(), a.answer());
            }
        }
    }
}
