package dev.panomni.parallel.text;

import dev.panomni.modalities.text.model.CausalLm;
import dev.panomni.modalities.text.model.TextModelConfig;
import dev.panomni.nn.optim.AdamW;
import dev.panomni.parallel.checkpoint.ShardedCheckpoint;
import dev.panomni.parallel.engine.ParallelModel;
import dev.panomni.parallel.engine.ParallelOptions;
import dev.panomni.parallel.mesh.DeviceMesh;
import dev.panomni.parallel.mesh.MeshDim;
import dev.panomni.parallel.mesh.MeshShape;
import dev.panomni.parallel.sp.SequenceParallelMode;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sharded checkpoints reshard: saved by 4 ranks (FSDP over 4 with experts split over ep 2), loaded by
 * 2 ranks, by 1 rank and into a plain model, the full parameters come back bit for bit, and training
 * resumed from the resharded optimizer state continues like the original run (within the
 * equivalence tolerance, since the meshes sum gradients in different orders).
 */
class ShardedCheckpointTest {
    static final MeshShape SAVED = new MeshShape(1, 4, 1, 2);

    /** Full parameters after the steps, and after one more step. */
    record Run(Map<String, float[]> saved, Map<String, float[]> continued) {
    }

    static Map<String, float[]> arrays(Map<String, Tensor> full) {
        Map<String, float[]> out = new LinkedHashMap<>();
        full.forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }

    static void trainStep(CausalLm model, ParallelModel engine, AdamW opt, int step) {
        DeviceMesh mesh = engine.mesh();
        MeshShape shape = mesh.shape();
        int dpIndex = mesh.index(MeshDim.DP_REPLICATE) * shape.dpShard() + mesh.index(MeshDim.DP_SHARD);
        TextModelParallel.LocalBatch local = TextModelParallel.collate(TinyTextModels.documents("moe", step),
                dpIndex, shape.dpReplicate() * shape.dpShard(), mesh.index(MeshDim.SP), shape.sp(),
                SequenceParallelMode.ULYSSES.sharding());
        engine.beginStep();
        engine.setSequenceLayout(local.layout());
        Tensor[] loss = TextModelParallel.loss(model, engine, local.batch(), TextModelParallel.CHUNK);
        engine.backward(loss[0]);
        engine.clipGradNorm(TinyTextModels.MAX_NORM);
        opt.step();
        opt.zeroGrad();
    }

    /** Trains 2 steps on 4 ranks, saves, trains a third. */
    static Run saveAfterTwoSteps(Path dir) throws Exception {
        TextModelConfig cfg = TinyTextModels.moe();
        List<Run> runs = Ranks.run(SAVED.worldSize(), 60_000, world -> {
            try (DeviceMesh mesh = new DeviceMesh(SAVED, world); CausalLm model = new CausalLm(cfg, 1);
                 ParallelModel engine = new ParallelModel(model, TextModelParallel.plan(), mesh, ParallelOptions.defaults());
                 AdamW opt = TinyTextModels.optimizer(engine.parameters())) {
                trainStep(model, engine, opt, 0);
                trainStep(model, engine, opt, 1);
                ShardedCheckpoint.save(dir, engine, opt.stateDict());
                Map<String, float[]> saved = arrays(engine.gatherFullParameters());
                trainStep(model, engine, opt, 2);
                return new Run(saved, arrays(engine.gatherFullParameters()));
            }
        });
        return runs.get(0);
    }

    /** Loads on {@code shape} into a differently initialized model, checks, trains the third step. */
    static Run load(Path dir, MeshShape shape) throws Exception {
        TextModelConfig cfg = TinyTextModels.moe();
        return Ranks.run(shape.worldSize(), 60_000, world -> {
            try (DeviceMesh mesh = new DeviceMesh(shape, world); CausalLm model = new CausalLm(cfg, 999);
                 ParallelModel engine = new ParallelModel(model, TextModelParallel.plan(), mesh, ParallelOptions.defaults());
                 AdamW opt = TinyTextModels.optimizer(engine.parameters())) {
                Map<String, Tensor> state = ShardedCheckpoint.load(dir, engine);
                opt.loadStateDict(state);
                Map<String, float[]> loaded = arrays(engine.gatherFullParameters());
                trainStep(model, engine, opt, 2);
                return new Run(loaded, arrays(engine.gatherFullParameters()));
            }
        }).get(0);
    }

    @Test
    void savedByFourRanksLoadsOnTwoRanksOneRankAndAPlainModel(@TempDir Path dir) throws Exception {
        Run original = saveAfterTwoSteps(dir);
        assertEquals(SAVED, ShardedCheckpoint.savedMesh(dir));
        for (MeshShape shape : new MeshShape[] {new MeshShape(1, 2, 1, 1), MeshShape.single()}) {
            Run loaded = load(dir, shape);
            for (Map.Entry<String, float[]> e : original.saved().entrySet()) {
                assertArrayEquals(e.getValue(), loaded.saved().get(e.getKey()), 0f,
                        shape + ": " + e.getKey() + " must load bit for bit");
                double err = TrainingTrace.relError(loaded.continued().get(e.getKey()),
                        original.continued().get(e.getKey()));
                assertTrue(err <= ParallelEquivalenceTest.TOLERANCE, shape + ": " + e.getKey()
                        + " after resuming differs by " + err);
            }
        }
        try (Scope s = Scope.open(); CausalLm plain = new CausalLm(TinyTextModels.moe(), 5)) {
            Map<String, Tensor> full = ShardedCheckpoint.readFull(dir);
            Map<String, Tensor> params = new LinkedHashMap<>();
            for (String name : plain.stateDict().keySet()) {
                params.put(name, full.get(name));
            }
            plain.loadStateDict(params, true);
            plain.namedParameters().forEach((k, v) ->
                    assertArrayEquals(original.saved().get(k), v.toFloatArray(), 0f, "plain model: " + k));
            assertTrue(full.containsKey("model.layers.0.mlp.experts.gate_proj.exp_avg"), "optimizer state is saved");
        }
    }

    @Test
    void anUnfinishedSaveIsRefusedWithTheReason(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("rank-00000.json"), "{}");
        IOException e = assertThrows(IOException.class, () -> ShardedCheckpoint.savedMesh(dir));
        assertTrue(e.getMessage().contains("checkpoint.json") && e.getMessage().contains("did not finish"), e.getMessage());
    }
}
