package dev.panomni.trainer.recipe;

import dev.panomni.modalities.text.model.TextModelConfig;
import dev.panomni.parallel.plan.ParallelPlan;
import dev.panomni.parallel.plan.Placement;
import dev.panomni.trainer.config.ConfigLoader;
import dev.panomni.trainer.config.ConfigOverride;
import dev.panomni.trainer.config.ModelConfig;
import dev.panomni.trainer.config.ModelFamily;
import dev.panomni.trainer.config.RunConfig;
import dev.panomni.trainer.data.ByteTokenizer;
import dev.panomni.trainer.data.HfTokenizerAdapter;
import dev.panomni.trainer.export.HfConfigJson;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecipesTest {
    @TempDir
    Path dir;

    private static RunConfig config(String... overrides) {
        return ConfigLoader.fromYaml(null, "test", ConfigOverride.parse(List.of(overrides)));
    }

    private static TextModelConfig arch(String family, String size) {
        RunConfig c = config("--model.family=" + family, "--model.size=" + size);
        return Recipes.forFamily(c.model().family()).architecture(c.model(), null);
    }

    @Test
    void everyFamilyHasARecipeNamedForIt() {
        for (ModelFamily f : ModelFamily.values()) {
            assertEquals(f, Recipes.forFamily(f).family());
        }
    }

    @Test
    void familiesDifferInTheirArchitectureSwitches() {
        TextModelConfig qwen3 = arch("qwen3", "tiny");
        assertEquals("qwen3", qwen3.family());
        assertTrue(qwen3.qkNorm());
        assertFalse(qwen3.attentionBias());
        TextModelConfig qwen2 = arch("qwen2", "tiny");
        assertEquals("qwen2", qwen2.family());
        assertFalse(qwen2.qkNorm());
        assertTrue(qwen2.attentionBias());
        TextModelConfig llama = arch("llama", "3.2-1b");
        assertEquals("llama", llama.family());
        assertEquals(32.0, llama.ropeScaling().factor());
        assertNull(arch("llama", "tiny").ropeScaling());
        TextModelConfig moe = arch("qwen3_moe", "tiny");
        assertEquals(8, moe.experts());
        assertTrue(moe.isMoeLayer(0) && moe.isMoeLayer(1));
        assertTrue(moe.normTopkProb());
        assertEquals("qwen3", arch("tiny", "demo").family(), "the demo model is Qwen3-shaped");
    }

    @Test
    void presetsHaveThePublishedParameterCounts() {
        assertEquals(596_049_920L, arch("qwen3", "0.6b").parameterCount());
        assertEquals(1_235_814_400L, arch("llama", "3.2-1b").parameterCount());
        assertEquals(494_032_768L, arch("qwen2", "0.5b").parameterCount());
        long moe = arch("qwen3_moe", "30b-a3b").parameterCount();
        assertTrue(moe > 30.4e9 && moe < 30.6e9, "Qwen3-30B-A3B: " + moe);
    }

    @Test
    void theDefaultPlanShardsLayersExpertsAndAttention() {
        ParallelPlan plan = Recipes.forFamily(ModelFamily.QWEN3_MOE).parallelPlan(arch("qwen3_moe", "tiny"));
        assertInstanceOf(Placement.ExpertSharded.class, plan.placementOf("model.layers.1.mlp.experts.gate_proj"));
        assertInstanceOf(Placement.Sharded.class, plan.placementOf("model.layers.1.mlp.gate.weight"));
        assertInstanceOf(Placement.Sharded.class, plan.placementOf("model.embed_tokens.weight"));
        assertEquals("model.layers.1", plan.unitOf("model.layers.1.self_attn.q_proj.weight"));
        assertEquals(ParallelPlan.ROOT_UNIT, plan.unitOf("model.norm.weight"));
        assertTrue(plan.isSequenceParallel("model.layers.0.self_attn"));
        assertFalse(plan.isSequenceParallel("model.layers.0.mlp"));
        ParallelPlan dense = Recipes.forFamily(ModelFamily.QWEN3).parallelPlan(arch("qwen3", "tiny"));
        assertTrue(dense.rules().isEmpty(), "dense models shard everything by FSDP");
    }

    @Test
    void anHfFolderGivesTheArchitectureAndMustMatchTheFamily() throws Exception {
        TextModelConfig llama = arch("llama", "3.2-1b");
        Path folder = Files.createDirectories(dir.resolve("Llama-3.2-1B"));
        Files.writeString(folder.resolve("config.json"), HfConfigJson.of(llama, 131_072, "bfloat16", 128_000, 128_001)
                .toString());
        RunConfig c = config("--model.family=llama", "--model.hf_path=Llama-3.2-1B");
        TextModelConfig read = Recipes.forFamily(ModelFamily.LLAMA).architecture(c.model(), dir);
        assertEquals(llama.parameterCount(), read.parameterCount());
        assertEquals(llama.ropeScaling(), read.ropeScaling());
        assertEquals(llama.kvHeads(), read.kvHeads());
        assertArrayEquals(llama.ropeInvFreq(), read.ropeInvFreq());

        RunConfig wrong = config("--model.family=qwen3", "--model.hf_path=Llama-3.2-1B");
        RecipeException e = assertThrows(RecipeException.class,
                () -> Recipes.forFamily(ModelFamily.QWEN3).architecture(wrong.model(), dir));
        assertTrue(e.getMessage().contains("holds a llama model") && e.getMessage().contains("model.family is qwen3"),
                e.getMessage());
        ModelConfig missing = config("--model.family=llama", "--model.hf_path=nowhere").model();
        assertTrue(assertThrows(RecipeException.class, () -> Recipes.forFamily(ModelFamily.LLAMA)
                .architecture(missing, dir)).getMessage().contains("no config.json"));
    }

    @Test
    void hfConfigJsonRoundTripsMoeLayouts() {
        TextModelConfig moe = arch("qwen3_moe", "1.6b-a0.5b");
        TextModelConfig back = TextModelConfig.parse(HfConfigJson.of(moe, 40_960, "bfloat16", null, 151_645), "test");
        assertEquals(moe.parameterCount(), back.parameterCount());
        assertEquals(moe.experts(), back.experts());
        assertEquals(moe.expertsPerToken(), back.expertsPerToken());
        assertEquals(moe.moeIntermediate(), back.moeIntermediate());
        assertEquals(moe.normTopkProb(), back.normTopkProb());
        assertEquals(moe.tieEmbeddings(), back.tieEmbeddings());
        assertArrayEquals(moe.moeLayers(), back.moeLayers());
    }

    @Test
    void theTokenizerComesFromTheConfigTheModelFolderOrBytes() throws Exception {
        Recipe r = Recipes.forFamily(ModelFamily.QWEN3);
        assertInstanceOf(ByteTokenizer.class, r.tokenizer(config("--model.family=qwen3", "--model.size=tiny"), dir));
        Path fixture = Path.of("src/test/resources/hf-tokenizer").toAbsolutePath();
        assertInstanceOf(HfTokenizerAdapter.class, r.tokenizer(config("--model.family=qwen3", "--model.size=tiny",
                "--data.tokenizer=" + fixture), dir));
        Path model = Files.createDirectories(dir.resolve("model"));
        Files.copy(fixture.resolve("tokenizer.json"), model.resolve("tokenizer.json"));
        Files.writeString(model.resolve("config.json"), HfConfigJson.of(arch("qwen3", "tiny"), 512, "float32", null, null)
                .toString());
        var fromFolder = r.tokenizer(config("--model.family=qwen3", "--model.hf_path=model"), dir);
        assertInstanceOf(HfTokenizerAdapter.class, fromFolder);
        assertNotNull(((HfTokenizerAdapter) fromFolder).tokenizer());
        assertInstanceOf(ByteTokenizer.class, r.tokenizer(config("--model.family=qwen3", "--model.hf_path=model",
                "--data.tokenizer=byte"), dir));
    }
}
