package dev.panomni.parallel.text;

import dev.panomni.modalities.text.model.CausalLm;
import dev.panomni.modalities.text.model.CausalLmOutput;
import dev.panomni.modalities.text.model.PackedBatch;
import dev.panomni.modalities.text.model.TextModelConfig;
import dev.panomni.nn.optim.AbstractOptimizer;
import dev.panomni.nn.optim.AdamW;
import dev.panomni.nn.optim.GradClip;
import dev.panomni.parallel.comm.CollectiveException;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.engine.ParallelModel;
import dev.panomni.parallel.mesh.DeviceMesh;
import dev.panomni.parallel.mesh.MeshDim;
import dev.panomni.parallel.mesh.MeshShape;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The equivalence harness: the same training ({@link TinyTextModels}: a few AdamW steps with
 * gradient clipping) once on a single device with no engine, and once under the parallel engine
 * on the ranks of a {@link RankGroup}, each rank on its own device with its own world communicator;
 * then every rank's trace against the single-device one ({@link TraceComparison}). The CPU suite
 * runs it with in-process ranks, the GPU suite with NCCL ranks on real GPUs.
 *
 * <p>Both runs start from the same weights: every model is drawn on the host from
 * {@link TinyTextModels#SEED} and then moved to its device (and, for the reference, cast to the
 * compute dtype, with the optimizer keeping F32 masters; the engine keeps F32 master shards and
 * gathers them in the compute dtype; with a 16-bit compute dtype both start from the weights rounded
 * to it, where the reference's masters start).
 */
public final class TrainingEquivalence {
    private static final Map<String, TrainingTrace> REFERENCES = new ConcurrentHashMap<>();

    private TrainingEquivalence() {
    }

    /**
     * The single-device run of {@code model} on {@code device} with parameters in {@code dtype}
     * (computed once per JVM and reused).
     */
    public static TrainingTrace reference(String model, Device device, DType dtype) {
        return REFERENCES.computeIfAbsent(model + "@" + device + "/" + dtype, k -> {
            try {
                return train(model, device, dtype, TinyTextModels.STEPS);
            } catch (RuntimeException | Error e) {
                throw new IllegalStateException("the single-device reference run of the " + model + " model on " + device
                        + " in " + dtype + " failed: " + e, e);
            }
        });
    }

    /**
     * One training step of {@code model} on {@code device} in {@code dtype}, results dropped: loads
     * the kernels into the device (the driver compiles their PTX on first use), so that a rank's
     * first collectives do not wait on its peers' compilation.
     */
    public static void warmUp(String model, Device device, DType dtype) {
        train(model, device, dtype, 1);
    }

    private static TrainingTrace train(String which, Device device, DType dtype, int steps) {
        double[] losses = new double[steps];
        double[] norms = new double[steps];
        List<Map<String, float[]>> params = new ArrayList<>();
        List<Map<String, float[]>> grads = new ArrayList<>();
        try (Scope s = Scope.open("reference"); CausalLm model = new CausalLm(TinyTextModels.config(which),
                TinyTextModels.SEED)) {
            model.to(device);
            if (dtype != DType.F32) {
                model.to(dtype);
            }
            Map<String, Tensor> named = model.namedParameters();
            try (AdamW opt = TinyTextModels.optimizer(named)) {
                for (int step = 0; step < steps; step++) {
                    try (Scope st = Scope.open("step")) {
                        PackedBatch batch = PackedBatch.of(TinyTextModels.documents(which, step).toArray(long[][]::new))
                                .to(device);
                        CausalLmOutput out = model.loss(batch);
                        losses[step] = out.loss().item();
                        out.loss().backward();
                        Map<String, float[]> g = new LinkedHashMap<>();
                        named.forEach((k, v) -> g.put(k, v.grad() != null ? v.grad().toFloatArray()
                                : new float[Math.toIntExact(v.numel())]));
                        grads.add(g);
                        norms[step] = GradClip.clipGradNorm(named.values(), TinyTextModels.MAX_NORM);
                        opt.step();
                        opt.zeroGrad();
                        Map<String, float[]> p = new LinkedHashMap<>();
                        named.forEach((k, v) -> {
                            // A 16-bit parameter is the rounding of its F32 master, which the engine's shards correspond to.
                            Tensor master = opt.stateOf(k).get(AbstractOptimizer.MASTER);
                            p.put(k, (master != null ? master : v).toFloatArray());
                        });
                        params.add(p);
                    }
                }
            }
        }
        return new TrainingTrace(0, losses, norms, grads, params);
    }

    /**
     * Trains {@code c} on the ranks of {@code ranks} ({@code c.shape().worldSize()} of them) and
     * returns every rank's trace, in rank order. A rank's failure names the case, the rank, its
     * device, and the step and phase it was in.
     */
    public static List<TrainingTrace> parallel(EquivalenceCase c, RankGroup ranks) throws Exception {
        return parallel(c, ranks, TinyTextModels.STEPS);
    }

    /** As {@link #parallel(EquivalenceCase, RankGroup)}, for the first {@code steps} steps only. */
    public static List<TrainingTrace> parallel(EquivalenceCase c, RankGroup ranks, int steps) throws Exception {
        TextModelConfig cfg = TinyTextModels.config(c.model());
        return ranks.run(c.shape().worldSize(), (world, device) -> {
            Progress at = new Progress();
            try {
                return trainParallel(c, cfg, world, device, steps, at);
            } catch (CollectiveException e) {
                // Kept a CollectiveException: rank groups report a root cause before the collective errors it caused.
                throw new CollectiveException(c + ": rank " + world.rank() + " on " + device + " " + at + ": "
                        + e.getMessage(), e.failedRank(), e);
            } catch (Exception | Error e) {
                throw new IllegalStateException(c + ": rank " + world.rank() + " on " + device + " failed " + at + ": "
                        + e, e);
            }
        });
    }

    /** Where a rank is, for failure messages. */
    private static final class Progress {
        int step = -1;
        String phase = "building the mesh and the engine";

        void at(int s, String p) {
            step = s;
            phase = p;
        }

        @Override
        public String toString() {
            return step < 0 ? "while " + phase : "at step " + step + " (" + phase + ")";
        }
    }

    private static TrainingTrace trainParallel(EquivalenceCase c, TextModelConfig cfg,
                                               Communicator world, Device device, int steps, Progress at) {
        MeshShape shape = c.shape();
        double[] losses = new double[steps];
        double[] norms = new double[steps];
        List<Map<String, float[]>> params = new ArrayList<>();
        List<Map<String, float[]>> grads = new ArrayList<>();
        try (DeviceMesh mesh = new DeviceMesh(shape, world); CausalLm model = new CausalLm(cfg, TinyTextModels.SEED)) {
            model.to(device);
            if (c.dtype() != DType.F32) {
                // The reference's optimizer takes its F32 masters from the 16-bit parameters: start from the same values.
                model.to(c.dtype());
                model.to(DType.F32);
            }
            try (ParallelModel engine = new ParallelModel(model, TextModelParallel.plan(), mesh, c.options());
                 AdamW opt = TinyTextModels.optimizer(engine.parameters())) {
                int dpIndex = mesh.index(MeshDim.DP_REPLICATE) * shape.dpShard() + mesh.index(MeshDim.DP_SHARD);
                int dpSize = shape.dpReplicate() * shape.dpShard();
                for (int step = 0; step < steps; step++) {
                    try (Scope st = Scope.open("step")) {
                        at.at(step, "collating and forward");
                        TextModelParallel.LocalBatch local = TextModelParallel.collate(
                                TinyTextModels.documents(c.model(), step), dpIndex, dpSize, mesh.index(MeshDim.SP),
                                shape.sp(), c.options().sequenceParallel().sharding());
                        engine.beginStep();
                        engine.setSequenceLayout(local.layout());
                        Tensor[] loss = TextModelParallel.loss(model, engine, local.batch().to(device),
                                TextModelParallel.CHUNK);
                        losses[step] = loss[1].item();
                        at.at(step, "backward");
                        engine.backward(loss[0]);
                        at.at(step, "gathering the gradients");
                        Map<String, float[]> g = new LinkedHashMap<>();
                        engine.gatherFullGradients().forEach((k, v) -> g.put(k, v.toFloatArray()));
                        grads.add(g);
                        at.at(step, "clipping");
                        norms[step] = engine.clipGradNorm(TinyTextModels.MAX_NORM);
                        at.at(step, "optimizer step");
                        opt.step();
                        opt.zeroGrad();
                        at.at(step, "gathering the parameters");
                        Map<String, float[]> p = new LinkedHashMap<>();
                        engine.gatherFullParameters().forEach((k, v) -> p.put(k, v.toFloatArray()));
                        params.add(p);
                    }
                }
                at.at(steps, "closing the engine and the mesh");
            }
        }
        return new TrainingTrace(world.rank(), losses, norms, grads, params);
    }

    /**
     * Runs {@code c} on {@code ranks} and its reference on {@code referenceDevice}, compares them, and
     * prints the summary line (worst errors and where) to stderr, whatever the outcome.
     */
    public static TraceComparison compare(EquivalenceCase c, RankGroup ranks, Device referenceDevice,
                                          Tolerance tolerance) throws Exception {
        return compare(c, ranks, referenceDevice, tolerance, TinyTextModels.STEPS);
    }

    /** As {@link #compare(EquivalenceCase, RankGroup, Device, Tolerance)} over the first {@code steps} steps. */
    public static TraceComparison compare(EquivalenceCase c, RankGroup ranks, Device referenceDevice,
                                          Tolerance tolerance, int steps) throws Exception {
        TrainingTrace ref = reference(c.model(), referenceDevice, c.dtype()).firstSteps(steps);
        long t0 = System.nanoTime();
        List<TrainingTrace> par = parallel(c, ranks, steps);
        TraceComparison cmp = TraceComparison.of(String.format(Locale.ROOT, "%s on %s vs %s (%.1f s)", c,
                ranks.describe(), referenceDevice, (System.nanoTime() - t0) / 1e9), ref, par, tolerance);
        System.err.println("equivalence " + cmp.summary());
        return cmp;
    }
}
