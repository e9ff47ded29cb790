package dev.panomni.parallel.text;

import dev.panomni.parallel.mesh.MeshShape;
import dev.panomni.parallel.sp.SequenceParallelMode;
import dev.panomni.tensor.DType;

import java.util.ArrayList;
import java.util.List;

/**
 * The equivalence suite's configurations of more than two ranks (4: FSDP 4, HSDP 2x2, Ulysses 4, ring 4,
 * EP 4, FSDP x Ulysses x EP and HSDP x ring x EP; 8: the 2x2x2 meshes; and the all-to-all dispatch cases),
 * taken from {@link ParallelEquivalenceTest}'s lists so the CPU suite and the GPU suite
 * ({@link LargeMeshEquivalenceGpuTest}) run the same ones. The two-rank ones are {@link TwoRankMeshes}.
 */
final class LargeMeshes {
    private LargeMeshes() {
    }

    /** Every configuration of more than two ranks, in {@code dtype}. */
    static List<EquivalenceCase> cases(DType dtype) {
        List<EquivalenceCase> out = new ArrayList<>();
        ParallelEquivalenceTest.meshes().forEach(a -> {
            Object[] v = a.get();
            MeshShape shape = (MeshShape) v[2];
            if (shape.worldSize() > 2) {
                out.add(EquivalenceCase.of((String) v[1], (String) v[0], shape, (SequenceParallelMode) v[3], dtype));
            }
        });
        ParallelEquivalenceTest.allToAllDispatchCases().forEach(c -> out.add(
                new EquivalenceCase(c.label(), c.model(), c.shape(), c.options().withComputeDtype(dtype))));
        return out;
    }
}
