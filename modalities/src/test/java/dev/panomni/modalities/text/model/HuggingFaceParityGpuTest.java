package dev.panomni.modalities.text.model;

import dev.panomni.modalities.io.SafetensorsCheckpoint;
import dev.panomni.tensor.Backends;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Hugging Face parity of {@link HuggingFaceParityTest}, on the GPU: fp32 logits within 1e-4,
 * loss within 1e-3 and every gradient within 1e-3 relative; bf16 logits within 2e-2.
 */
@Tag("gpu")
class HuggingFaceParityGpuTest {
    static Path extract(String family, Path dir) throws IOException {
        for (String f : new String[] {"config.json", "model.safetensors", "reference.safetensors"}) {
            try (InputStream in = HuggingFaceParityGpuTest.class.getResourceAsStream("/parity/" + family + "/" + f)) {
                Assumptions.assumeTrue(in != null, "parity fixture /parity/" + family + "/" + f + " is not on the class path");
                Files.copy(in, dir.resolve(f));
            }
        }
        return dir;
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "llama", "qwen3_moe"})
    void transformersParityOnCuda(String family, @TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(Backends.isAvailable(Device.Type.CUDA),
                "no CUDA backend or device here: the GPU parity test runs on a GPU host");
        Path dir = extract(family, tmp);
        Device cuda = Device.cuda(0);
        try (CausalLm model = HuggingFaceWeights.load(dir); SafetensorsCheckpoint ref = SafetensorsCheckpoint.open(dir.resolve("reference.safetensors"));
             Scope s = Scope.open()) {
            model.to(cuda);
            long[] ids = ref.load("input_ids").toLongArray();
            int len = ids.length / 2;
            PackedBatch batch = PackedBatch.of(java.util.Arrays.copyOfRange(ids, 0, len),
                    java.util.Arrays.copyOfRange(ids, len, ids.length)).to(cuda);
            float[] expected = ref.load("logits").toFloatArray();
            double err = GradCheck.relError(model.logits(batch).toFloatArray(), expected);
            assertTrue(err < 1e-4, family + " fp32 logits on cuda: relative error " + err);

            CausalLmOutput out = model.loss(batch);
            float hf = ref.load("loss").item();
            assertEquals(hf, out.lmLoss().item(), 1e-3 * Math.abs(hf), family + ": loss on cuda");
            out.loss().backward();
            for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
                String name = e.getKey();
                float[] ours = e.getValue().grad().toFloatArray();
                float[] theirs = new float[ours.length];
                if (name.contains(".mlp.experts.")) {
                    String prefix = name.substring(0, name.lastIndexOf('.'));
                    String proj = name.substring(name.lastIndexOf('.') + 1);
                    long experts = e.getValue().size(0);
                    int per = (int) (ours.length / experts);
                    for (int x = 0; x < experts; x++) {
                        System.arraycopy(ref.load("grad." + prefix + "." + x + "." + proj + ".weight").toFloatArray(), 0,
                                theirs, x * per, per);
                    }
                } else {
                    theirs = ref.load("grad." + name).toFloatArray();
                }
                double ge = GradCheck.relError(ours, theirs);
                assertTrue(ge < 1e-3, family + ": gradient of " + name + " on cuda, relative error " + ge);
            }
            model.zeroGrad();
            model.to(DType.BF16);
            double bf = GradCheck.relError(model.logits(batch).toFloatArray(), expected);
            assertTrue(bf < 2e-2, family + " bf16 logits on cuda: relative error " + bf);
        }
    }
}
