package dev.panomni.parallel.plan;

import dev.panomni.parallel.mesh.MeshDim;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParallelPlanTest {
    @Test
    void patternsMatchSegments() {
        NamePattern p = NamePattern.of("model.layers.*.mlp.experts.*");
        assertTrue(p.matches("model.layers.3.mlp.experts.gate_up_proj"));
        assertFalse(p.matches("model.layers.3.mlp.gate_proj.weight"));
        assertFalse(p.matches("model.layers.3.4.mlp.experts.x"));
        NamePattern any = NamePattern.of("**.bias");
        assertTrue(any.matches("a.b.c.bias"));
        assertTrue(any.matches("bias"));
        assertEquals("model.layers.12", NamePattern.of("model.layers.*").matchingPrefix("model.layers.12.self_attn.q_proj.weight"));
        assertThrows(IllegalArgumentException.class, () -> NamePattern.of("a..b"));
    }

    @Test
    void firstMatchingRuleDecidesAndUnitsGroupLayers() {
        ParallelPlan plan = ParallelPlan.builder()
                .place("model.layers.*.mlp.experts.*", new Placement.ExpertSharded())
                .place("model.layers.*.mlp.gate.weight", new Placement.Replicated())
                .fsdpUnit("model.layers.*")
                .sequenceParallel("model.layers.*.self_attn")
                .build();
        assertEquals(new Placement.ExpertSharded(), plan.placementOf("model.layers.0.mlp.experts.down_proj"));
        assertEquals(new Placement.Replicated(), plan.placementOf("model.layers.0.mlp.gate.weight"));
        assertEquals(new Placement.Sharded(MeshDim.FSDP), plan.placementOf("model.embed_tokens.weight"));
        assertEquals("model.layers.7", plan.unitOf("model.layers.7.input_layernorm.weight"));
        assertEquals(ParallelPlan.ROOT_UNIT, plan.unitOf("model.norm.weight"));
        assertTrue(plan.isSequenceParallel("model.layers.2.self_attn"));
        assertFalse(plan.isSequenceParallel("model.layers.2.mlp"));
    }
}
