package dev.panomni.modalities.text.model;

import dev.panomni.modalities.io.SafetensorsCheckpoint;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Logits, loss and every parameter gradient against Hugging Face transformers on the same weights
 * and inputs. The fixtures come from bench/scripts/make_parity_fixtures.py (run where torch and
 * transformers are installed) and are committed under src/test/resources/parity/.
 */
class HuggingFaceParityTest {
    static Path fixture(String family) {
        Path p = Path.of("src/test/resources/parity", family);
        Assumptions.assumeTrue(Files.exists(p.resolve("reference.safetensors")),
                "no parity fixture for " + family + " at " + p.toAbsolutePath()
                        + ": run bench/scripts/make_parity_fixtures.py on a host with transformers");
        return p;
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "llama", "qwen3_moe"})
    void logitsLossAndGradientsMatchTransformers(String family) throws Exception {
        Path dir = fixture(family);
        try (CausalLm model = HuggingFaceWeights.load(dir); SafetensorsCheckpoint ref = SafetensorsCheckpoint.open(dir.resolve("reference.safetensors"));
             Scope s = Scope.open()) {
            long[] ids = ref.load("input_ids").toLongArray();
            int rows = 2;
            int len = ids.length / rows;
            long[][] docs = new long[rows][];
            for (int r = 0; r < rows; r++) {
                docs[r] = java.util.Arrays.copyOfRange(ids, r * len, (r + 1) * len);
            }
            PackedBatch batch = PackedBatch.of(docs);
            float[] logits = model.logits(batch).toFloatArray();
            double logitErr = GradCheck.relError(logits, ref.load("logits").toFloatArray());
            assertTrue(logitErr < 1e-4, family + ": logits relative error " + logitErr);

            CausalLmOutput out = model.loss(batch);
            float hfLoss = ref.load("loss").item();
            assertEquals(hfLoss, out.lmLoss().item(), 1e-3 * Math.abs(hfLoss), family + ": loss");
            if (out.auxLoss() != null) {
                float hfAux = ref.load("aux_loss").item();
                assertEquals(hfAux, out.auxLoss().item(), 1e-3 * Math.abs(hfAux), family + ": aux loss");
            }
            out.loss().backward();
            int compared = 0;
            for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
                String name = e.getKey();
                float[] ours = e.getValue().grad().toFloatArray();
                float[] theirs;
                if (name.contains(".mlp.experts.")) {
                    // Stacked [experts, ...] here; one tensor per expert in the reference.
                    String prefix = name.substring(0, name.lastIndexOf('.'));
                    String proj = name.substring(name.lastIndexOf('.') + 1);
                    long experts = e.getValue().size(0);
                    int per = (int) (ours.length / experts);
                    theirs = new float[ours.length];
                    for (int x = 0; x < experts; x++) {
                        float[] g = ref.load("grad." + prefix + "." + x + "." + proj + ".weight").toFloatArray();
                        System.arraycopy(g, 0, theirs, x * per, per);
                    }
                } else {
                    assertTrue(ref.contains("grad." + name), family + ": reference has no gradient for " + name);
                    theirs = ref.load("grad." + name).toFloatArray();
                }
                double err = GradCheck.relError(ours, theirs);
                assertTrue(err < 1e-3, family + ": gradient of " + name + " relative error " + err);
                compared++;
            }
            assertNotNull(model.headWeight());
            assertTrue(compared > 10, "compared " + compared + " gradients");
        }
    }
}
