package dev.panomni.modalities.text.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panomni.nn.optim.AdamW;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Losses;
import dev.panomni.tensor.ops.Reduction;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CausalLmTest {
    static TextModelConfig dense() throws Exception {
        return TextModelConfig.parse(new ObjectMapper().readTree("""
                {"model_type":"qwen3","vocab_size":61,"hidden_size":32,"num_hidden_layers":2,
                 "num_attention_heads":4,"num_key_value_heads":2,"head_dim":8,"intermediate_size":48,
                 "rope_theta":10000,"rms_norm_eps":1e-6}"""), "test");
    }

    static TextModelConfig moe() throws Exception {
        return TextModelConfig.parse(new ObjectMapper().readTree("""
                {"model_type":"qwen3_moe","vocab_size":61,"hidden_size":32,"num_hidden_layers":2,
                 "num_attention_heads":4,"num_key_value_heads":2,"head_dim":8,"intermediate_size":48,
                 "num_experts":6,"num_experts_per_tok":2,"moe_intermediate_size":16,"norm_topk_prob":true,
                 "router_aux_loss_coef":0.01,"rope_theta":10000}"""), "test");
    }

    static long[] tokens(int n, int seed) {
        long[] t = new long[n];
        java.util.Random r = new java.util.Random(seed);
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(61);
        }
        return t;
    }

    @Test
    void fusedChunkedLossAndGradientsEqualTheMaterializedLogitsPath() throws Exception {
        for (TextModelConfig cfg : new TextModelConfig[] {dense(), moe()}) {
            try (CausalLm model = new CausalLm(cfg, 7); Scope s = Scope.open()) {
                PackedBatch batch = PackedBatch.of(tokens(9, 1), tokens(5, 2));
                CausalLmOutput out = model.loss(batch, DecoderBackbone.LayerRunner.DIRECT, 4);   // several chunks
                out.lmLoss().backward();
                Map<String, float[]> fused = new LinkedHashMap<>();
                model.namedParameters().forEach((k, p) -> fused.put(k, p.grad().toFloatArray()));
                model.zeroGrad();
                Tensor ref = Losses.crossEntropy(model.logits(batch), batch.labels(), -100, Reduction.MEAN);
                assertEquals(ref.item(), out.lmLoss().item(), 1e-5);
                ref.backward();
                for (Map.Entry<String, float[]> e : fused.entrySet()) {
                    float[] g = model.namedParameters().get(e.getKey()).grad().toFloatArray();
                    assertTrue(GradCheck.relError(e.getValue(), g) < 1e-4, e.getKey());
                }
            }
        }
    }

    @Test
    void packedDocumentsDoNotSeeEachOther() throws Exception {
        try (CausalLm model = new CausalLm(dense(), 3); Scope s = Scope.open()) {
            long[] a = tokens(7, 4);
            long[] b = tokens(6, 5);
            float[] packed = model.logits(PackedBatch.of(a, b)).toFloatArray();
            float[] la = model.logits(PackedBatch.of(a)).toFloatArray();
            float[] lb = model.logits(PackedBatch.of(b)).toFloatArray();
            float[] joined = new float[packed.length];
            System.arraycopy(la, 0, joined, 0, la.length);
            System.arraycopy(lb, 0, joined, la.length, lb.length);
            assertTrue(GradCheck.relError(packed, joined) < 1e-5);
        }
    }

    @Test
    void kvCacheGenerationEqualsRecomputingEveryStep() throws Exception {
        for (TextModelConfig cfg : new TextModelConfig[] {dense(), moe()}) {
            try (CausalLm model = new CausalLm(cfg, 11); Scope s = Scope.open()) {
                long[] prompt = tokens(5, 6);
                long[] cached = TextGeneration.generate(model, prompt, TextGeneration.Options.greedy(6));
                long[] seq = prompt.clone();
                long[] naive = new long[6];
                for (int i = 0; i < 6; i++) {
                    try (Scope st = Scope.open()) {
                        float[] l = model.logits(PackedBatch.of(seq)).toFloatArray();
                        int best = 0;
                        for (int v = 1; v < 61; v++) {
                            if (l[(seq.length - 1) * 61 + v] > l[(seq.length - 1) * 61 + best]) {
                                best = v;
                            }
                        }
                        naive[i] = best;
                        seq = java.util.Arrays.copyOf(seq, seq.length + 1);
                        seq[seq.length - 1] = best;
                    }
                }
                assertArrayEquals(naive, cached);
                long[] sampled = TextGeneration.generate(model, prompt, new TextGeneration.Options(6, 1.0, 10, 42, -1));
                assertArrayEquals(sampled, TextGeneration.generate(model, prompt, new TextGeneration.Options(6, 1.0, 10, 42, -1)));
            }
        }
    }

    @Test
    void moeMatchesAPerTokenReferenceAndReportsRouting() throws Exception {
        TextModelConfig cfg = moe();
        try (CausalLm model = new CausalLm(cfg, 5); Scope s = Scope.open()) {
            SparseMoe moe = model.backbone().layers().get(0).moe();
            Tensor x = new dev.panomni.tensor.random.Generator(3).normal(new long[] {13, 32}, 0, 1);
            float[] got = moe.forward(x).toFloatArray();
            // Per token: softmax router, top-2, renormalize, sum of weighted expert MLPs.
            float[] xv = x.toFloatArray();
            float[] gate = moe.namedParameters().get("gate.weight").toFloatArray();
            float[] wg = moe.namedParameters().get("experts.gate_proj").toFloatArray();
            float[] wu = moe.namedParameters().get("experts.up_proj").toFloatArray();
            float[] wd = moe.namedParameters().get("experts.down_proj").toFloatArray();
            double[] ref = new double[13 * 32];
            for (int t = 0; t < 13; t++) {
                double[] logit = new double[6];
                double max = -1e30;
                for (int e = 0; e < 6; e++) {
                    for (int h = 0; h < 32; h++) {
                        logit[e] += gate[e * 32 + h] * xv[t * 32 + h];
                    }
                    max = Math.max(max, logit[e]);
                }
                double z = 0;
                for (int e = 0; e < 6; e++) {
                    logit[e] = Math.exp(logit[e] - max);
                    z += logit[e];
                }
                Integer[] order = {0, 1, 2, 3, 4, 5};
                double[] p = logit;
                java.util.Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
                double norm = p[order[0]] + p[order[1]];
                for (int slot = 0; slot < 2; slot++) {
                    int e = order[slot];
                    double w = p[e] / norm;
                    double[] hmid = new double[16];
                    for (int i = 0; i < 16; i++) {
                        double g = 0;
                        double u = 0;
                        for (int h = 0; h < 32; h++) {
                            g += wg[(e * 16 + i) * 32 + h] * xv[t * 32 + h];
                            u += wu[(e * 16 + i) * 32 + h] * xv[t * 32 + h];
                        }
                        hmid[i] = g / (1 + Math.exp(-g)) * u;
                    }
                    for (int h = 0; h < 32; h++) {
                        double y = 0;
                        for (int i = 0; i < 16; i++) {
                            y += wd[(e * 32 + h) * 16 + i] * hmid[i];
                        }
                        ref[t * 32 + h] += w * y;
                    }
                }
            }
            assertTrue(GradCheck.relError(got, ref) < 1e-5, "rel " + GradCheck.relError(got, ref));
            CausalLmOutput out = model.loss(PackedBatch.of(tokens(11, 9)));
            assertEquals(2, out.routerStats().size());
            assertEquals(2 * 11, out.routerStats().get(0).assigned().sum().item(), 0.0);
            assertTrue(out.auxLoss().item() > 0.9 && out.auxLoss().item() < 6.0 * 2, "aux " + out.auxLoss().item());
            assertEquals(out.lmLoss().item() + 0.01 * out.auxLoss().item(), out.loss().item(), 1e-6);
        }
    }

    @Test
    void saveThenLoadRoundTripsEveryTensor(@TempDir Path dir) throws Exception {
        TextModelConfig cfg = moe();
        try (CausalLm model = new CausalLm(cfg, 21); Scope s = Scope.open()) {
            Files.writeString(dir.resolve("config.json"), """
                {"model_type":"qwen3_moe","vocab_size":61,"hidden_size":32,"num_hidden_layers":2,
                 "num_attention_heads":4,"num_key_value_heads":2,"head_dim":8,"intermediate_size":48,
                 "num_experts":6,"num_experts_per_tok":2,"moe_intermediate_size":16,"norm_topk_prob":true,
                 "router_aux_loss_coef":0.01,"rope_theta":10000}""");
            HuggingFaceWeights.save(model, dir, null);
            try (var ck = dev.panomni.modalities.io.SafetensorsCheckpoint.open(dir)) {
                assertTrue(ck.contains("model.layers.1.mlp.experts.5.down_proj.weight"), "per-expert keys on disk");
            }
            try (CausalLm loaded = HuggingFaceWeights.load(dir)) {
                for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
                    assertArrayEquals(e.getValue().toFloatArray(), loaded.namedParameters().get(e.getKey()).toFloatArray(), e.getKey());
                }
                Path again = dir.resolve("again");
                HuggingFaceWeights.save(loaded, again, null);
                assertArrayEquals(Files.readAllBytes(dir.resolve("model.safetensors")), Files.readAllBytes(again.resolve("model.safetensors")));
            }
        }
    }

    @Test
    void aTinyModelLearnsARepeatingSequence() throws Exception {
        try (CausalLm model = new CausalLm(dense(), 1); Scope s = Scope.open()) {
            AdamW opt = new AdamW(model.namedParameters(), 1e-2, 0.0);
            long[] doc = new long[24];
            for (int i = 0; i < doc.length; i++) {
                doc[i] = (i * 7) % 13;
            }
            double first = 0;
            double last = 0;
            for (int step = 0; step < 40; step++) {
                try (Scope st = Scope.open()) {
                    CausalLmOutput out = model.loss(PackedBatch.of(doc, doc));
                    if (step == 0) {
                        first = out.loss().item();
                    }
                    last = out.loss().item();
                    out.loss().backward();
                    opt.step();
                    opt.zeroGrad();
                }
            }
            assertTrue(first > 3.5, "starts near ln(61) = 4.1, got " + first);
            assertTrue(last < 0.5, "learns the cycle, got " + last);
        }
    }
}
