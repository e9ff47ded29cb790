package dev.panomni.trainer.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panomni.modalities.io.SafetensorsFile;
import dev.panomni.modalities.text.model.CausalLm;
import dev.panomni.modalities.text.model.HuggingFaceWeights;
import dev.panomni.modalities.text.model.PackedBatch;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.trainer.Trainer;
import dev.panomni.trainer.TrainingResult;
import dev.panomni.trainer.checkpoint.CheckpointException;
import dev.panomni.trainer.checkpoint.CheckpointManager;
import dev.panomni.trainer.checkpoint.SafetensorsStore;
import dev.panomni.trainer.cli.PanomniCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static dev.panomni.trainer.TrainerFixtures.countingData;
import static dev.panomni.trainer.TrainerFixtures.microConfig;
import static dev.panomni.trainer.TrainerFixtures.quiet;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HfExporterTest {
    @TempDir
    Path dir;

    @Test
    void exportWritesHuggingFaceWeightsAndConfigThatLoadBackToTheSameModel() throws Exception {
        TrainingResult r = new Trainer(microConfig(dir, countingData(dir, 300), "--train.steps=2"), quiet()).run();
        assertEquals(TrainingResult.Status.COMPLETED, r.status());
        Path out = dir.resolve("hf");
        HfExporter.Result e = HfExporter.export(dir.resolve("ckpt"), out, null);
        assertEquals(2, e.step(), "a checkpoint folder exports its latest");
        assertTrue(e.note().contains("byte-level tokenizer"));

        JsonNode config = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertEquals("qwen3", config.get("model_type").asText());
        assertEquals("Qwen3ForCausalLM", config.get("architectures").get(0).asText());
        assertEquals(260, config.get("vocab_size").asInt());
        assertEquals(64, config.get("hidden_size").asInt());
        assertEquals(true, config.get("tie_word_embeddings").asBoolean());
        assertEquals("float32", config.get("torch_dtype").asText());

        try (Scope s = Scope.open("export");
             CausalLm exported = HuggingFaceWeights.load(out)) {
            Map<String, Tensor> trained = new CheckpointManager(dir.resolve("ckpt"), 3, new SafetensorsStore())
                    .open(dir.resolve("ckpt/step-000002")).readModel();
            Map<String, Tensor> loaded = exported.namedParameters();
            assertEquals(trained.keySet(), loaded.keySet());
            for (String k : trained.keySet()) {
                assertArrayEquals(trained.get(k).toFloatArray(), loaded.get(k).toFloatArray(), 0f, k);
            }
            float[] logits = GradMode.noGrad(() -> exported.logits(PackedBatch.of(new long[] {49, 50, 32, 51})))
                    .toFloatArray();
            for (float v : logits) {
                assertTrue(Float.isFinite(v));
            }
        }
    }

    @Test
    void bf16ExportAndMoeExpertsInHuggingFaceLayout() throws Exception {
        new Trainer(microConfig(dir, countingData(dir, 300), "--model.family=qwen3_moe", "--model.size=tiny",
                "--train.steps=1", "--train.warmup_steps=0"), quiet()).run();
        Path out = dir.resolve("hf");
        int code = new CommandLine(new PanomniCommand()).execute("export", "--checkpoint", dir.resolve("ckpt").toString(),
                "--out", out.toString(), "--dtype", "bf16");
        assertEquals(0, code);
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertEquals(DType.BF16, f.entry("model.embed_tokens.weight").dtype());
            assertTrue(f.contains("model.layers.1.mlp.experts.7.down_proj.weight"), "experts split per expert");
            assertTrue(f.contains("model.layers.0.mlp.gate.weight"));
        }
        JsonNode config = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertEquals("qwen3_moe", config.get("model_type").asText());
        assertEquals(8, config.get("num_experts").asInt());
        assertEquals("bfloat16", config.get("torch_dtype").asText());
        try (CausalLm exported = HuggingFaceWeights.load(out)) {
            assertEquals(8, exported.config().experts());
        }
    }

    @Test
    void aMissingCheckpointIsAClearError() {
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> HfExporter.export(dir.resolve("nothing"), dir.resolve("out"), null));
        assertTrue(e.getMessage().contains("is not a directory"), e.getMessage());
        assertTrue(!Files.exists(dir.resolve("out")));
    }
}
