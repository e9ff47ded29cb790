package dev.panomni.parallel.engine;

import dev.panomni.nn.optim.GradClip;
import dev.panomni.parallel.comm.CollectiveException;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.InProcessCommunicator;
import dev.panomni.parallel.comm.InProcessGroup;
import dev.panomni.parallel.comm.RecordingCommunicator;
import dev.panomni.parallel.mesh.DeviceMesh;
import dev.panomni.parallel.mesh.MeshShape;
import dev.panomni.parallel.plan.ParallelPlan;
import dev.panomni.parallel.text.Ranks;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The FSDP mechanics on a model that is not a text model: sharding, gradients, schedule, failures. */
class ParallelModelTest {
    static final ParallelPlan PLAN = ParallelPlan.builder().fsdpUnit("layers.*").build();

    static Tensor input(int rank) {
        return Tensor.of(GradCheck.random(new Random(100 + rank), 4 * 5), 4, 5);
    }

    static TinyStack.Runner runner(ParallelModel engine) {
        return (layer, x) -> engine.runUnit(layer, in -> new Tensor[] {layer.forward(in[0])}, x)[0];
    }

    @Test
    void shardsArePaddedRowSlicesAndTheModelHoldsEmptyPlaceholders() throws Exception {
        Map<String, float[]> full;
        try (Scope s = Scope.open(); TinyStack m = new TinyStack(3)) {
            full = new java.util.LinkedHashMap<>();
            m.namedParameters().forEach((k, v) -> full.put(k, v.toFloatArray()));
        }
        Ranks.run(2, 10_000, world -> {
            try (DeviceMesh mesh = new DeviceMesh(new MeshShape(1, 2, 1, 1), world); TinyStack model = new TinyStack(3);
                 ParallelModel engine = new ParallelModel(model, PLAN, mesh, ParallelOptions.defaults())) {
                assertEquals(List.of(ParallelPlan.ROOT_UNIT, "layers.0", "layers.1"), engine.unitNames());
                model.namedParameters().values().forEach(p -> assertEquals(0, p.numel(), "placeholder " + p.name()));
                // layers.1.weight is [5, 6]: 3 rows per rank, rank 1 holds rows 3, 4 and one zero row.
                Tensor shard = engine.parameters().get("layers.1.weight");
                assertArrayEquals(new long[] {3, 6}, shard.shape());
                float[] got = shard.toFloatArray();
                float[] want = new float[18];
                int rows = world.rank() == 0 ? 3 : 2;
                System.arraycopy(full.get("layers.1.weight"), world.rank() * 18, want, 0, rows * 6);
                assertArrayEquals(want, got, 0f);
                return null;
            }
        });
    }

    @Test
    void gradientsAreTheSumOverRanksOfTheSingleDeviceGradients() throws Exception {
        int n = 3;
        Map<String, float[]> ref = new java.util.LinkedHashMap<>();
        try (Scope s = Scope.open(); TinyStack m = new TinyStack(4)) {
            for (int r = 0; r < n; r++) {
                m.loss(input(r), TinyStack.Layer::forward).backward();
            }
            m.namedParameters().forEach((k, v) -> ref.put(k, v.grad().toFloatArray()));
        }
        List<Map<String, float[]>> got = Ranks.run(n, 10_000, world -> {
            try (DeviceMesh mesh = new DeviceMesh(new MeshShape(1, n, 1, 1), world); TinyStack model = new TinyStack(4);
                 ParallelModel engine = new ParallelModel(model, PLAN, mesh, ParallelOptions.defaults())) {
                engine.beginStep();
                engine.backward(model.loss(input(world.rank()), runner(engine)));
                Map<String, float[]> out = new java.util.LinkedHashMap<>();
                engine.gatherFullGradients().forEach((k, v) -> out.put(k, v.toFloatArray()));
                return out;
            }
        });
        for (Map.Entry<String, float[]> e : ref.entrySet()) {
            assertTrue(GradCheck.relError(got.get(0).get(e.getKey()), e.getValue()) < 1e-6, e.getKey());
        }
    }

    @Test
    void evaluationStepsRunWithoutBackwardAndLeaveTrainingIntact() throws Exception {
        float want;
        Map<String, float[]> ref = new java.util.LinkedHashMap<>();
        try (Scope s = Scope.open(); TinyStack m = new TinyStack(8)) {
            want = m.loss(input(0), TinyStack.Layer::forward).item();
            m.loss(input(0), TinyStack.Layer::forward).backward();
            m.loss(input(1), TinyStack.Layer::forward).backward();
            m.namedParameters().forEach((k, v) -> ref.put(k, v.grad().toFloatArray()));
        }
        List<Map<String, float[]>> got = Ranks.run(2, 10_000, world -> {
            try (DeviceMesh mesh = new DeviceMesh(new MeshShape(1, 2, 1, 1), world); TinyStack model = new TinyStack(8);
                 ParallelModel engine = new ParallelModel(model, PLAN, mesh, ParallelOptions.defaults())) {
                for (int i = 0; i < 2; i++) {
                    engine.beginStep();
                    float eval = dev.panomni.tensor.autograd.GradMode.noGrad(
                            () -> model.loss(input(0), runner(engine))).item();
                    engine.endStep();
                    assertEquals(want, eval, 1e-6f * Math.abs(want));
                }
                engine.beginStep();
                engine.backward(model.loss(input(world.rank()), runner(engine)));
                Map<String, float[]> out = new java.util.LinkedHashMap<>();
                engine.gatherFullGradients().forEach((k, v) -> out.put(k, v.toFloatArray()));
                return out;
            }
        });
        for (Map.Entry<String, float[]> e : ref.entrySet()) {
            assertTrue(GradCheck.relError(got.get(0).get(e.getKey()), e.getValue()) < 1e-6, e.getKey());
        }
    }

    @Test
    void gathersArePrefetchedAndReductionsOverlapTheBackward() throws Exception {
        List<String> log = new ArrayList<>();
        Ranks.run(2, 10_000, world -> {
            Communicator comm = world.rank() == 0 ? new RecordingCommunicator(world, log) : world;
            try (DeviceMesh mesh = new DeviceMesh(new MeshShape(1, 2, 1, 1), comm); TinyStack model = new TinyStack(5);
                 ParallelModel engine = new ParallelModel(model, PLAN, mesh, ParallelOptions.defaults())) {
                for (int step = 0; step < 2; step++) {
                    if (step == 1 && world.rank() == 0) {
                        synchronized (log) {
                            log.clear();
                        }
                        for (TinyStack.Layer l : List.of(model.layers.get(0), model.layers.get(1))) {
                            l.listener = e -> {
                                synchronized (log) {
                                    log.add(e);
                                }
                            };
                        }
                    }
                    engine.beginStep();
                    engine.backward(model.loss(input(world.rank()), runner(engine)));
                }
                return null;
            }
        });
        // Gathered elements: root (head [3, 5]) 20, layers.0 ([6, 5] + [6]) 36, layers.1 ([5, 6] + [5]) 42.
        assertEquals(List.of(
                "allGather:20", "allGather:36",          // beginStep: root, and the first layer prefetched
                "allGather:42", "compute layer0",       // layer 1's gather is in flight while layer 0 computes
                "compute layer1",                       // the last layer stays gathered for the backward
                "allGather:36", "compute layer1",       // backward: layer 0's gather overlaps layer 1's recompute
                "reduceScatter:42", "compute layer0",   // layer 1's gradients reduce while layer 0 recomputes
                "reduceScatter:36", "reduceScatter:20"), log);
    }

    @Test
    void aRankFailingInsideAUnitEndsTheStepOnEveryRank() throws Exception {
        int n = 4;
        InProcessGroup group = new InProcessGroup(n, 5_000);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Throwable>> results = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                InProcessCommunicator world = group.communicator(r);
                results.add(pool.submit(() -> {
                    try (Scope s = Scope.open(); DeviceMesh mesh = new DeviceMesh(new MeshShape(1, n, 1, 1), world);
                         TinyStack model = new TinyStack(6);
                         ParallelModel engine = new ParallelModel(model, PLAN, mesh, ParallelOptions.defaults())) {
                        for (int step = 0; step < 3; step++) {
                            int st = step;
                            engine.beginStep();
                            Tensor loss = model.loss(input(world.rank()), (layer, x) -> engine.runUnit(layer, in -> {
                                if (st == 1 && world.rank() == 2 && layer == model.layers.get(1)) {
                                    throw new IllegalStateException("rank 2 ran out of memory");
                                }
                                return new Tensor[] {layer.forward(in[0])};
                            }, x)[0]);
                            engine.backward(loss);
                            engine.clipGradNorm(1.0);
                        }
                        return null;
                    } catch (Throwable e) {
                        world.abort(e);
                        return e;
                    }
                }));
            }
            for (int r = 0; r < n; r++) {
                Throwable e = results.get(r).get();
                if (r == 2) {
                    assertInstanceOf(IllegalStateException.class, e);
                } else {
                    CollectiveException ce = assertInstanceOf(CollectiveException.class, e, "rank " + r);
                    assertEquals(2, ce.failedRank(), "rank " + r + ": " + ce.getMessage());
                    assertTrue(ce.getMessage().contains("rank 2"), ce.getMessage());
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void clippingUsesTheNormOfAllShardsTogether() throws Exception {
        double maxNorm = 0.05;
        double refNorm;
        Map<String, float[]> ref = new java.util.LinkedHashMap<>();
        try (Scope s = Scope.open(); TinyStack m = new TinyStack(7)) {
            for (int r = 0; r < 2; r++) {
                m.loss(input(r), TinyStack.Layer::forward).backward();
            }
            refNorm = GradClip.clipGradNorm(m.parameters(), maxNorm);
            m.namedParameters().forEach((k, v) -> ref.put(k, v.grad().toFloatArray()));
        }
        assertTrue(refNorm > maxNorm);
        List<Object[]> got = Ranks.run(2, 10_000, world -> {
            try (DeviceMesh mesh = new DeviceMesh(new MeshShape(1, 2, 1, 1), world); TinyStack model = new TinyStack(7);
                 ParallelModel engine = new ParallelModel(model, PLAN, mesh, ParallelOptions.defaults())) {
                engine.beginStep();
                engine.backward(model.loss(input(world.rank()), runner(engine)));
                double norm = engine.clipGradNorm(maxNorm);
                Map<String, float[]> out = new java.util.LinkedHashMap<>();
                engine.gatherFullGradients().forEach((k, v) -> out.put(k, v.toFloatArray()));
                return new Object[] {norm, out};
            }
        });
        assertEquals(refNorm, (double) got.get(0)[0], 1e-6 * refNorm);
        @SuppressWarnings("unchecked")
        Map<String, float[]> clipped = (Map<String, float[]>) got.get(0)[1];
        for (Map.Entry<String, float[]> e : ref.entrySet()) {
            assertTrue(GradCheck.relError(clipped.get(e.getKey()), e.getValue()) < 1e-6, e.getKey() + " "
                    + Arrays.toString(clipped.get(e.getKey())));
        }
    }
}
