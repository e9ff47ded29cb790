package dev.panomni.parallel.text;

import dev.panomni.parallel.engine.ParallelOptions;
import dev.panomni.parallel.ep.ExpertDispatch;
import dev.panomni.parallel.mesh.MeshShape;
import dev.panomni.parallel.sp.SequenceParallelMode;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parallel training equals single-device training on the CPU: the tiny dense and MoE models of
 * {@link TinyTextModels}, five AdamW steps with gradient clipping, on one rank and on every mesh of
 * the issue (FSDP 2 and 4, HSDP 2x1 and 2x2, EP 2 and 4, Ulysses 2 and 4, ring 2 and 4, sp 2 x ep 2, and
 * dp_replicate 2 x dp_shard 2 x sp 2 with ep 2), ranks as threads over the in-process communicator;
 * and the GPU suite's two-rank configurations in BF16 with its BF16 tolerances. The GPU suite
 * ({@link TwoGpuEquivalenceGpuTest}) runs the same harness ({@link TrainingEquivalence}) through NCCL.
 *
 * <p>Tolerances of the F32 meshes: at every step and on every rank the global loss, the global
 * gradient norm, every parameter's full gradient and every updated parameter (L2 norm of the
 * difference over the L2 norm of the reference, per tensor) agree with the single-device run within
 * {@value #TOLERANCE} relative. The only differences are summation orders (gradients summed over
 * ranks, attention merged over blocks).
 */
class ParallelEquivalenceTest {
    static final double TOLERANCE = 1e-5;
    private static final RankGroup THREADS = Ranks.inProcess(60_000);

    static Stream<Arguments> meshes() {
        List<Arguments> out = new ArrayList<>();
        for (String m : new String[] {TinyTextModels.DENSE, TinyTextModels.MOE}) {
            out.add(Arguments.of(m, "FSDP 2", new MeshShape(1, 2, 1, 1), SequenceParallelMode.ULYSSES));
            out.add(Arguments.of(m, "FSDP 4", new MeshShape(1, 4, 1, 1), SequenceParallelMode.ULYSSES));
            out.add(Arguments.of(m, "HSDP 2x1", TwoRankMeshes.HSDP, SequenceParallelMode.ULYSSES));
            out.add(Arguments.of(m, "HSDP 2x2", new MeshShape(2, 2, 1, 1), SequenceParallelMode.ULYSSES));
            out.add(Arguments.of(m, "Ulysses 2", new MeshShape(1, 1, 2, 1), SequenceParallelMode.ULYSSES));
            out.add(Arguments.of(m, "Ulysses 4", new MeshShape(1, 1, 4, 1), SequenceParallelMode.ULYSSES));
            out.add(Arguments.of(m, "ring 2", new MeshShape(1, 1, 2, 1), SequenceParallelMode.RING));
            out.add(Arguments.of(m, "ring 4", new MeshShape(1, 1, 4, 1), SequenceParallelMode.RING));
        }
        out.add(Arguments.of(TinyTextModels.MOE, "EP 2", new MeshShape(1, 2, 1, 2), SequenceParallelMode.ULYSSES));
        out.add(Arguments.of(TinyTextModels.MOE, "EP 4", new MeshShape(1, 4, 1, 4), SequenceParallelMode.ULYSSES));
        out.add(Arguments.of(TinyTextModels.MOE, "Ulysses 2 x EP 2", TwoRankMeshes.SP_EP, SequenceParallelMode.ULYSSES));
        out.add(Arguments.of(TinyTextModels.MOE, "ring 2 x EP 2", TwoRankMeshes.SP_EP, SequenceParallelMode.RING));
        // Three kinds of parallelism at once on 4 ranks (the largest hosts lent may have 4 GPUs).
        out.add(Arguments.of(TinyTextModels.MOE, "FSDP 2 x Ulysses 2 x EP 2", new MeshShape(1, 2, 2, 2),
                SequenceParallelMode.ULYSSES));
        out.add(Arguments.of(TinyTextModels.MOE, "HSDP 2 x ring 2 x EP 2", new MeshShape(2, 1, 2, 2),
                SequenceParallelMode.RING));
        out.add(Arguments.of(TinyTextModels.DENSE, "3D 2x2x2", new MeshShape(2, 2, 2, 1), SequenceParallelMode.ULYSSES));
        out.add(Arguments.of(TinyTextModels.MOE, "3D 2x2x2 ep 2", new MeshShape(2, 2, 2, 2), SequenceParallelMode.ULYSSES));
        out.add(Arguments.of(TinyTextModels.MOE, "3D 2x2x2 ep 2 ring", new MeshShape(2, 2, 2, 2), SequenceParallelMode.RING));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("meshes")
    void parallelTrainingMatchesSingleDevice(String model, String label, MeshShape shape, SequenceParallelMode mode)
            throws Exception {
        EquivalenceCase c = EquivalenceCase.of(label, model, shape, mode, DType.F32);
        TrainingEquivalence.compare(c, THREADS, Device.CPU, Tolerance.of(TOLERANCE)).assertAgrees();
        TrainingTrace ref = TrainingEquivalence.reference(model, Device.CPU, DType.F32);
        assertTrue(ref.norms()[0] > TinyTextModels.MAX_NORM, "the test should exercise clipping: first norm "
                + ref.norms()[0]);
    }

    static Stream<EquivalenceCase> allToAllDispatchCases() {
        return Stream.of(
                EquivalenceCase.of("EP 4 by all-to-all", TinyTextModels.MOE, new MeshShape(1, 4, 1, 4),
                        SequenceParallelMode.ULYSSES, DType.F32).with(ExpertDispatch.ALL_TO_ALL),
                EquivalenceCase.of("3D 2x2x2 ep 2 ring by all-to-all", TinyTextModels.MOE, new MeshShape(2, 2, 2, 2),
                        SequenceParallelMode.RING, DType.F32).with(ExpertDispatch.ALL_TO_ALL));
    }

    /** The mesh cases above dispatch experts by all-gather (the default); these by all-to-all. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("allToAllDispatchCases")
    void allToAllDispatchMatchesSingleDevice(EquivalenceCase c) throws Exception {
        TrainingEquivalence.compare(c, THREADS, Device.CPU, Tolerance.of(TOLERANCE)).assertAgrees();
    }

    /**
     * The configurations of the GPU suites (two ranks: {@link TwoGpuEquivalenceGpuTest}; four and eight:
     * {@link LargeMeshEquivalenceGpuTest}), in BF16, with their BF16 tolerances: the same comparison on
     * the CPU's BF16 path (F32 arithmetic rounded to BF16 after every op), so that the harness and the
     * tolerances are exercised in CI before they meet the GPUs.
     */
    static Stream<EquivalenceCase> bf16Cases() {
        return Stream.concat(TwoRankMeshes.cases(DType.BF16).stream(), LargeMeshes.cases(DType.BF16).stream());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bf16Cases")
    void bf16TrainingMatchesSingleDeviceBf16(EquivalenceCase c) throws Exception {
        TrainingEquivalence.compare(c, THREADS, Device.CPU, TwoGpuEquivalenceGpuTest.BF16).assertAgrees();
    }

    /**
     * EP 2, whose three groups of both ranks (dp_shard, fsdp, ep) are separate sub-communicators
     * meeting through the rendezvous store under their own names, on ranks that each join the store
     * on their own connection, as GPU ranks do ({@link StoreRanks}); two steps, since the store
     * backend is slow.
     */
    @Test
    void subGroupsMadeThroughTheStoreTrainLikeOneDevice() throws Exception {
        EquivalenceCase c = EquivalenceCase.of("EP 2", TinyTextModels.MOE, TwoRankMeshes.EP, SequenceParallelMode.ULYSSES,
                DType.F32);
        TrainingEquivalence.compare(c, new StoreRanks(Duration.ofSeconds(60)), Device.CPU, Tolerance.of(TOLERANCE), 2)
                .assertAgrees();
    }

    @Test
    void bf16GathersTrainCloseToFp32() throws Exception {
        // Parameters are gathered and computed in BF16 (8 mantissa bits); master shards, gradients and
        // AdamW stay F32. Losses follow the F32 run within BF16 rounding (2e-2 relative).
        for (String model : new String[] {TinyTextModels.DENSE, TinyTextModels.MOE}) {
            TrainingTrace ref = TrainingEquivalence.reference(model, Device.CPU, DType.F32);
            TrainingTrace bf16 = TrainingEquivalence.parallel(new EquivalenceCase("FSDP 2 bf16", model,
                    new MeshShape(1, 2, 1, model.equals(TinyTextModels.MOE) ? 2 : 1),
                    ParallelOptions.defaults().withComputeDtype(DType.BF16)), THREADS).get(0);
            for (int s = 0; s < TinyTextModels.STEPS; s++) {
                assertEquals(ref.losses()[s], bf16.losses()[s], 2e-2 * ref.losses()[s], model + ": loss at step " + s);
            }
        }
    }
}
