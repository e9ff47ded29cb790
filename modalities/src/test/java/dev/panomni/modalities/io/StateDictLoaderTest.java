package dev.panomni.modalities.io;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.panomni.modalities.io.SafetensorsTest.bytesOf;
import static dev.panomni.modalities.io.SafetensorsTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StateDictLoaderTest {
    @TempDir
    Path dir;

    private static final int LAYERS = 2;
    private static final int EXPERTS = 3;
    private static final int HIDDEN = 4;
    private static final int MOE_INTER = 5;

    /** A tiny Qwen3-MoE checkpoint in Hugging Face's per-expert layout and module order. */
    private static Map<String, Tensor> perExpertCheckpoint(Random rnd) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", random(DType.BF16, rnd, 11, HIDDEN));
        for (int l = 0; l < LAYERS; l++) {
            String p = "model.layers." + l + ".";
            m.put(p + "input_layernorm.weight", random(DType.BF16, rnd, HIDDEN));
            m.put(p + "mlp.gate.weight", random(DType.BF16, rnd, EXPERTS, HIDDEN));
            for (int e = 0; e < EXPERTS; e++) {
                m.put(p + "mlp.experts." + e + ".gate_proj.weight", random(DType.BF16, rnd, MOE_INTER, HIDDEN));
                m.put(p + "mlp.experts." + e + ".up_proj.weight", random(DType.BF16, rnd, MOE_INTER, HIDDEN));
                m.put(p + "mlp.experts." + e + ".down_proj.weight", random(DType.BF16, rnd, HIDDEN, MOE_INTER));
            }
        }
        m.put("model.norm.weight", random(DType.BF16, rnd, HIDDEN));
        return m;
    }

    private static Map<String, long[]> moeModelShapes() {
        Map<String, long[]> s = new LinkedHashMap<>();
        s.put("model.embed_tokens.weight", new long[] {11, HIDDEN});
        for (int l = 0; l < LAYERS; l++) {
            String p = "model.layers." + l + ".";
            s.put(p + "input_layernorm.weight", new long[] {HIDDEN});
            s.put(p + "mlp.gate.weight", new long[] {EXPERTS, HIDDEN});
            s.put(p + "mlp.experts.gate_proj", new long[] {EXPERTS, MOE_INTER, HIDDEN});
            s.put(p + "mlp.experts.up_proj", new long[] {EXPERTS, MOE_INTER, HIDDEN});
            s.put(p + "mlp.experts.down_proj", new long[] {EXPERTS, HIDDEN, MOE_INTER});
        }
        s.put("model.norm.weight", new long[] {HIDDEN});
        return s;
    }

    @Test
    void stacksExpertsOnLoadAndSplitsThemOnSaveByteExactly() throws IOException {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> original = perExpertCheckpoint(new Random(11));
            Path src = dir.resolve("src");
            List<Path> srcFiles = SafetensorsWriter.writeSharded(src, original, Map.of("format", "pt"), 300);
            assertTrue(srcFiles.size() > 2, "the fixture is sharded");

            Map<String, Tensor> params;
            try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(src)) {
                params = new StateDictLoader(moeModelShapes()).withExpertStacking(ExpertStacking.qwen3Moe()).load(ck);
            }
            assertEquals(moeModelShapes().keySet(), params.keySet());
            Tensor up1 = params.get("model.layers.1.mlp.experts.up_proj");
            assertArrayEquals(new long[] {EXPERTS, MOE_INTER, HIDDEN}, up1.shape());
            assertEquals("model.layers.1.mlp.experts.up_proj", up1.name());
            for (int e = 0; e < EXPERTS; e++) {
                assertArrayEquals(bytesOf(original.get("model.layers.1.mlp.experts." + e + ".up_proj.weight")),
                        bytesOf(up1.narrow(0, e, 1)), "expert " + e);
            }

            Path out = dir.resolve("out");
            List<Path> outFiles = SafetensorsWriter.writeSharded(out, ExpertStacking.qwen3Moe().split(params),
                    Map.of("format", "pt"), 300);
            try (SafetensorsCheckpoint again = SafetensorsCheckpoint.open(out)) {
                assertEquals(original.keySet(), new java.util.HashSet<>(again.names()));
                for (String n : original.keySet()) {
                    assertArrayEquals(bytesOf(original.get(n)), bytesOf(again.load(n)), n);
                    assertArrayEquals(original.get(n).shape(), again.entry(n).shape(), n);
                }
            }
            // Split restores Hugging Face's key order too, so even the shard files are identical.
            assertEquals(srcFiles.size(), outFiles.size());
            for (Path f : srcFiles) {
                assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(out.resolve(f.getFileName())), f.toString());
            }
        }
    }

    @Test
    void reportsMissingUnexpectedAndMismatchedKeysTogether() throws IOException {
        try (Scope s = Scope.open()) {
            Random rnd = new Random(4);
            Map<String, Tensor> ck = new LinkedHashMap<>();
            ck.put("a.weight", random(DType.F32, rnd, 2, 3));
            ck.put("b.weight", random(DType.F32, rnd, 4));
            ck.put("rotary.inv_freq", random(DType.F32, rnd, 2));
            ck.put("extra.weight", random(DType.F32, rnd, 1));
            Path p = dir.resolve("m.safetensors");
            SafetensorsWriter.write(p, ck, null);
            Map<String, long[]> model = new LinkedHashMap<>();
            model.put("a.weight", new long[] {3, 2});
            model.put("b.weight", new long[] {4});
            model.put("c.weight", new long[] {5});
            model.put("lm_head.weight", new long[] {7});
            try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(p)) {
                StateDictLoader loader = new StateDictLoader(model)
                        .allowMissing(n -> n.equals("lm_head.weight"))
                        .ignoreUnexpected(n -> n.endsWith("inv_freq"));
                StateDictMismatchException e = assertThrows(StateDictMismatchException.class, () -> loader.load(c));
                assertEquals(List.of("c.weight [5]"), e.missing());
                assertEquals(List.of("extra.weight [1] F32"), e.unexpected());
                assertEquals(List.of("a.weight: checkpoint [2, 3] F32 vs model [3, 2]"), e.mismatched());
                String msg = e.getMessage();
                assertTrue(msg.contains(p.toString()) && msg.contains("1 missing, 1 unexpected, 1 shape mismatches"), msg);

                model.put("a.weight", new long[] {2, 3});
                model.remove("c.weight");
                Map<String, Tensor> loaded = new StateDictLoader(model)
                        .allowMissing(n -> n.equals("lm_head.weight"))
                        .ignoreUnexpected(n -> !model.containsKey(n))
                        .toDType(DType.BF16)
                        .load(c);
                assertEquals(List.of("a.weight", "b.weight"), List.copyOf(loaded.keySet()));
                assertEquals(DType.BF16, loaded.get("a.weight").dtype());
                float[] want = ck.get("a.weight").toFloatArray();
                float[] got = loaded.get("a.weight").toFloatArray();
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], got[i], Math.abs(want[i]) * 1e-2 + 1e-30, "element " + i);
                }
            }
        }
    }

    @Test
    void incompleteOrInconsistentExpertsAreReported() throws IOException {
        try (Scope s = Scope.open()) {
            Random rnd = new Random(9);
            Map<String, Tensor> ck = new LinkedHashMap<>();
            ck.put("m.layers.0.mlp.experts.0.gate_proj.weight", random(DType.F32, rnd, 2, 2));
            ck.put("m.layers.0.mlp.experts.2.gate_proj.weight", random(DType.F32, rnd, 2, 2));
            Path p = dir.resolve("gap.safetensors");
            SafetensorsWriter.write(p, ck, null);
            try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(p)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new StateDictLoader(Map.of())
                        .withExpertStacking(ExpertStacking.qwen3Moe()).plan(c));
                assertTrue(e.getMessage().contains("m.layers.0.mlp.experts.gate_proj") && e.getMessage().contains("[1]"),
                        e.getMessage());
            }
            ck.put("m.layers.0.mlp.experts.1.gate_proj.weight", random(DType.F32, rnd, 2, 3));
            SafetensorsWriter.write(p, ck, null);
            try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(p)) {
                StateDictMismatchException e = assertThrows(StateDictMismatchException.class, () -> new StateDictLoader(
                        Map.of("m.layers.0.mlp.experts.gate_proj", new long[] {3, 2, 2}))
                        .withExpertStacking(ExpertStacking.qwen3Moe()).plan(c));
                assertTrue(e.getMessage().contains("experts disagree") && e.getMessage().contains("[2, 3]"), e.getMessage());
            }
        }
    }

    @Test
    void namingOfStackedKeys() {
        ExpertStacking x = ExpertStacking.qwen3Moe();
        assertEquals("model.layers.7.mlp.experts.down_proj", x.stackedName("model.layers.7.mlp.experts.12.down_proj.weight"));
        assertEquals("model.layers.7.mlp.experts.12.down_proj.weight", x.perExpertName("model.layers.7.mlp.experts.down_proj", 12));
        assertEquals(null, x.stackedName("model.layers.7.mlp.gate.weight"));
        assertTrue(Arrays.asList(x.projections().toArray()).contains("up_proj"));
    }
}
