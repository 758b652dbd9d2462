package dev.jformers.pipelines;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.jformers.models.ModelOutput;
import dev.jformers.models.PreTrainedModel;
import dev.jformers.tokenizers.EncodeOptions;
import dev.jformers.tokenizers.Encoding;
import dev.jformers.tokenizers.PaddingStrategy;
import dev.jformers.tokenizers.Tokenizer;
import dev.jformers.tokenizers.TruncationStrategy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * HF's {@code QuestionAnsweringPipeline} (extractive QA), fast-tokenizer path.
 *
 * <p>The question and the context are encoded as a pair; a long context is cut into overlapping windows
 * ({@code max_seq_len} tokens, {@code doc_stride} shared). In each window, logits outside the context (question,
 * special tokens, except [CLS]) get −10000, start and end are softmaxed separately, and a span (s, e) with
 * s ≤ e &lt; s + max_answer_len scores p_start[s]·p_end[e]. The best spans of all windows are pooled and sorted.
 * Answers are widened to whole words (HF's {@code align_to_words}) and given as character offsets.
 */
public final class QuestionAnsweringPipeline extends Pipeline {

    /**
     * HF's keyword arguments.
     *
     * @param topK                   answers to return (default 1)
     * @param docStride              tokens shared by consecutive windows (null: min(max_seq_len / 2, 128))
     * @param maxAnswerLen           longest answer in tokens (default 15)
     * @param maxSeqLen              window length in tokens (null: min(model_max_length, 384))
     * @param maxQuestionLen         HF's max_question_len (64); only the slow-tokenizer path uses it
     * @param handleImpossibleAnswer also propose the empty answer, scored p_start[CLS]·p_end[CLS]
     * @param alignToWords           widen answers to whole words (default true)
     */
    public record Options(int topK, Integer docStride, int maxAnswerLen, Integer maxSeqLen, int maxQuestionLen,
                          boolean handleImpossibleAnswer, boolean alignToWords) {
        public Options {
            if (topK < 1) {
                throw new PipelineException("top_k parameter should be >= 1 (got " + topK + ")");
            }
            if (maxAnswerLen < 1) {
                throw new PipelineException("max_answer_len parameter should be >= 1 (got " + maxAnswerLen + ")");
            }
        }

        public static Options defaults() {
            return new Options(1, null, 15, null, 64, false, true);
        }

        public Options withTopK(int v) {
            return new Options(v, docStride, maxAnswerLen, maxSeqLen, maxQuestionLen, handleImpossibleAnswer, alignToWords);
        }

        public Options withDocStride(Integer v) {
            return new Options(topK, v, maxAnswerLen, maxSeqLen, maxQuestionLen, handleImpossibleAnswer, alignToWords);
        }

        public Options withMaxAnswerLen(int v) {
            return new Options(topK, docStride, v, maxSeqLen, maxQuestionLen, handleImpossibleAnswer, alignToWords);
        }

        public Options withMaxSeqLen(Integer v) {
            return new Options(topK, docStride, maxAnswerLen, v, maxQuestionLen, handleImpossibleAnswer, alignToWords);
        }

        public Options withMaxQuestionLen(int v) {
            return new Options(topK, docStride, maxAnswerLen, maxSeqLen, v, handleImpossibleAnswer, alignToWords);
        }

        public Options withHandleImpossibleAnswer(boolean v) {
            return new Options(topK, docStride, maxAnswerLen, maxSeqLen, maxQuestionLen, v, alignToWords);
        }

        public Options withAlignToWords(boolean v) {
            return new Options(topK, docStride, maxAnswerLen, maxSeqLen, maxQuestionLen, handleImpossibleAnswer, v);
        }
    }

    /** One answer: HF's {@code {score, start, end, answer}}; start/end are code-point offsets into the context. */
    @JsonPropertyOrder({"score", "start", "end", "answer"})
    public record Answer(float score, int start, int end, String answer) {
    }

    /** A question with its context. */
    public record Input(String question, String context) {
    }

    /** A candidate span in one window: token indices and score. */
    record Span(int start, int end, double score) {
    }

    /** One window's best spans and its null ([CLS]) score. */
    record WindowScores(List<Span> spans, double nullScore) {
    }

    QuestionAnsweringPipeline(Path dir, PreTrainedModel model, Tokenizer tokenizer) {
        super("question-answering", dir, model, tokenizer);
    }

    /** The windows HF's fast path feeds the model (first encoding, then the overflowing ones). */
    public List<Encoding> windows(String question, String context, Options o) {
        int maxSeqLen = o.maxSeqLen() != null ? o.maxSeqLen() : Math.min(tokenizer().modelMaxLength(), 384);
        int docStride = o.docStride() != null ? o.docStride() : Math.min(maxSeqLen / 2, 128);
        if (docStride > maxSeqLen) {
            throw new PipelineException("`doc_stride` (" + docStride + ") is larger than `max_seq_len` (" + maxSeqLen + ")");
        }
        EncodeOptions eo = EncodeOptions.defaults().withMaxLength(maxSeqLen).withTruncation(TruncationStrategy.ONLY_SECOND)
                .withStride(docStride).withReturnOverflowing(true).withPadding(PaddingStrategy.DO_NOT_PAD);
        Encoding first = tokenizer().encode(question, context, eo);
        List<Encoding> all = new ArrayList<>();
        all.add(first);
        all.addAll(first.overflowing());
        return all;
    }

    /** The typed call: the best answer to {@code question} in {@code context}, with HF's default options. */
    public Answer apply(String question, String context) {
        return answers(question, context, Options.defaults()).getFirst();
    }

    /** The best answers, best first (at most top_k; the empty answer included when handle_impossible_answer). */
    public List<Answer> answers(String question, String context, Options o) {
        return answersAll(List.of(new Input(question, context)), o).getFirst();
    }

    /**
     * {@link #answers} for every input, {@link #batchSize()} windows per forward pass (windows of similar length
     * together; each input's answers equal those it gets alone).
     */
    public List<List<Answer>> answersAll(List<Input> inputs, Options o) {
        List<Encoding> flat = new ArrayList<>();
        List<Integer> windowsPerInput = new ArrayList<>();
        for (Input in : inputs) {
            if (in.question() == null || in.question().isEmpty()) {
                throw new PipelineException("`question` cannot be empty");
            }
            if (in.context() == null || in.context().isEmpty()) {
                throw new PipelineException("`context` cannot be empty");
            }
            List<Encoding> w = windows(in.question(), in.context(), o);
            windowsPerInput.add(w.size());
            flat.addAll(w);
        }
        List<WindowScores> scores = forwardEach(flat, (out, row, w) -> scoreWindow(
                out.get("start_logits").select(0, row).narrow(0, 0, w.length()).toFloatArray(),
                out.get("end_logits").select(0, row).narrow(0, 0, w.length()).toFloatArray(),
                w.attentionMask(), allowed(w), o));
        List<List<Answer>> result = new ArrayList<>();
        int next = 0;
        for (int i = 0; i < inputs.size(); i++) {
            String context = inputs.get(i).context();
            double minNullScore = 1_000_000;
            List<Answer> answers = new ArrayList<>();
            for (int k = 0; k < windowsPerInput.get(i); k++, next++) {
                WindowScores ws = scores.get(next);
                minNullScore = Math.min(minNullScore, ws.nullScore());
                for (Span s : ws.spans()) {
                    answers.add(toAnswer(flat.get(next), s, context, o.alignToWords()));
                }
            }
            if (o.handleImpossibleAnswer()) {
                answers.add(new Answer((float) minNullScore, 0, 0, ""));
            }
            answers.sort(Comparator.comparingDouble((Answer a) -> a.score()).reversed());
            result.add(answers.size() > o.topK() ? new ArrayList<>(answers.subList(0, o.topK())) : answers);
        }
        return result;
    }

    /** The positions an answer may start or end at: context tokens and [CLS] (HF's 1 - p_mask). */
    private boolean[] allowed(Encoding w) {
        int cls = tokenizer().clsTokenId();
        int[] ids = w.ids();
        int[] seq = w.sequenceIds();
        boolean[] allowed = new boolean[ids.length];
        for (int i = 0; i < ids.length; i++) {
            allowed[i] = seq[i] == 1 || (cls >= 0 && ids[i] == cls);
        }
        return allowed;
    }

    /** {@link #scoreWindow(float[], float[], int[], boolean[], Options)} after a forward pass over one window. */
    WindowScores scoreWindow(int[] ids, int[] attentionMask, int[] typeIds, boolean[] allowedTokens, Options o) {
        ModelOutput out = forward(ids, attentionMask, typeIds);
        return scoreWindow(out.get("start_logits").toFloatArray(), out.get("end_logits").toFloatArray(), attentionMask,
                allowedTokens, o);
    }

    /**
     * HF's select_starts_ends for one window: logits outside {@code allowed} (and padding) set to −10000, start
     * and end softmaxed separately, the null score p_start[0]·p_end[0] taken, position 0 zeroed, spans decoded.
     */
    private static WindowScores scoreWindow(float[] startLogits, float[] endLogits, int[] attentionMask,
                                            boolean[] allowedTokens, Options o) {
        boolean[] allowed = allowedTokens.clone();
        for (int i = 0; i < allowed.length; i++) {
            allowed[i] &= attentionMask[i] == 1;
        }
        double[] pStart = maskedSoftmax(startLogits, allowed);
        double[] pEnd = maskedSoftmax(endLogits, allowed);
        double nullScore = (float) (pStart[0] * pEnd[0]);
        pStart[0] = 0; // HF zeroes the first position ([CLS]) before decoding spans
        pEnd[0] = 0;
        return new WindowScores(decodeSpans(pStart, pEnd, o.topK(), o.maxAnswerLen(), allowed), nullScore);
    }

    /** HF's return value for one question: a bare answer when there is one, else the list. */
    public Object call(String question, String context, Options o) {
        List<Answer> a = answers(question, context, o);
        return a.size() == 1 ? a.get(0) : a;
    }

    /** HF's return value for several questions: one result per question (one question: its result). */
    public Object call(List<Input> inputs, Options o) {
        List<Object> out = new ArrayList<>();
        for (List<Answer> a : answersAll(inputs, o)) {
            out.add(a.size() == 1 ? a.get(0) : a);
        }
        return out.size() == 1 ? out.get(0) : out;
    }

    /** Softmax with disallowed positions set to −10000 first (HF's select_starts_ends). */
    private static double[] maskedSoftmax(float[] logits, boolean[] allowed) {
        float[] x = logits.clone();
        for (int i = 0; i < x.length; i++) {
            if (!allowed[i]) {
                x[i] = -10000f;
            }
        }
        float[] p = Scores.softmax(x);
        double[] out = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            out[i] = p[i];
        }
        return out;
    }

    /**
     * HF's decode_spans: the top_k of p_start[s]·p_end[e] over s ≤ e < s + max_answer_len, keeping spans whose
     * both ends are allowed. Zero-score spans (through the zeroed [CLS]) are not proposed.
     */
    private static List<Span> decodeSpans(double[] pStart, double[] pEnd, int topK, int maxAnswerLen, boolean[] allowed) {
        List<Span> spans = new ArrayList<>();
        int n = pStart.length;
        for (int s = 0; s < n; s++) {
            for (int e = s; e < Math.min(n, s + maxAnswerLen); e++) {
                float score = (float) pStart[s] * (float) pEnd[e]; // float32 product, as numpy
                if (score > 0) {
                    spans.add(new Span(s, e, score));
                }
            }
        }
        // Sorted by score, then by flat index s·n + e (argsort order on ties).
        spans.sort(Comparator.comparingDouble((Span sp) -> -sp.score()).thenComparingInt(Span::start).thenComparingInt(Span::end));
        List<Span> top = spans.subList(0, Math.min(topK, spans.size()));
        return top.stream().filter(sp -> allowed[sp.start()] && allowed[sp.end()]).toList();
    }

    /** Token span to character span: whole words of the context (HF's get_indices), then the answer text. */
    private static Answer toAnswer(Encoding w, Span s, String context, boolean alignToWords) {
        int[] starts = w.startOffsets();
        int[] ends = w.endOffsets();
        int[] words = w.wordIds();
        int[] seq = w.sequenceIds();
        int startChar = starts[s.start()];
        int endChar = ends[s.end()];
        if (alignToWords && words[s.start()] >= 0 && words[s.end()] >= 0) {
            int ws = words[s.start()];
            int we = words[s.end()];
            int first = Integer.MAX_VALUE;
            int last = -1;
            for (int i = 0; i < words.length; i++) {
                if (seq[i] != 1) {
                    continue;
                }
                if (words[i] == ws) {
                    first = Math.min(first, starts[i]);
                }
                if (words[i] == we) {
                    last = Math.max(last, ends[i]);
                }
            }
            if (first != Integer.MAX_VALUE && last >= 0) {
                startChar = first;
                endChar = last;
            }
        }
        String answer = context.substring(startChar, Math.max(startChar, endChar));
        return new Answer((float) s.score(), context.codePointCount(0, startChar), context.codePointCount(0, endChar), answer);
    }
}
