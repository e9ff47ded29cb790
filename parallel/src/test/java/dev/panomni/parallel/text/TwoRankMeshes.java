package dev.panomni.parallel.text;

import dev.panomni.parallel.ep.ExpertDispatch;
import dev.panomni.parallel.mesh.MeshShape;
import dev.panomni.parallel.sp.SequenceParallelMode;
import dev.panomni.tensor.DType;

import java.util.ArrayList;
import java.util.List;

/**
 * The meshes of two ranks (dp_replicate x dp_shard x sp, ep): what a 2-GPU host can check, and
 * what the CPU suite runs in the same shapes.
 */
public final class TwoRankMeshes {
    /** FSDP over 2 ranks. */
    public static final MeshShape FSDP = new MeshShape(1, 2, 1, 1);
    /** HSDP: 2 replicas of one shard each (gradients all-reduced over dp_replicate). */
    public static final MeshShape HSDP = new MeshShape(2, 1, 1, 1);
    /** Experts split over the 2 FSDP ranks. */
    public static final MeshShape EP = new MeshShape(1, 2, 1, 2);
    /** Sequence parallel over 2 ranks (Ulysses or ring). */
    public static final MeshShape SP = new MeshShape(1, 1, 2, 1);
    /** Sequence parallel over 2 ranks, with the experts split over the same pair. */
    public static final MeshShape SP_EP = new MeshShape(1, 1, 2, 2);

    private TwoRankMeshes() {
    }

    /**
     * Every configuration of two ranks in {@code dtype}: FSDP 2, HSDP 2x1, Ulysses 2 and ring 2 on
     * both models, EP 2 (by all-gather and by all-to-all) and sp 2 x ep 2 (Ulysses and ring) on the MoE
     * model.
     */
    public static List<EquivalenceCase> cases(DType dtype) {
        List<EquivalenceCase> out = new ArrayList<>();
        for (String m : new String[] {TinyTextModels.DENSE, TinyTextModels.MOE}) {
            out.add(EquivalenceCase.of("FSDP 2", m, FSDP, SequenceParallelMode.ULYSSES, dtype));
            out.add(EquivalenceCase.of("HSDP 2x1", m, HSDP, SequenceParallelMode.ULYSSES, dtype));
            out.add(EquivalenceCase.of("Ulysses 2", m, SP, SequenceParallelMode.ULYSSES, dtype));
            out.add(EquivalenceCase.of("ring 2", m, SP, SequenceParallelMode.RING, dtype));
        }
        out.add(EquivalenceCase.of("EP 2", TinyTextModels.MOE, EP, SequenceParallelMode.ULYSSES, dtype));
        out.add(EquivalenceCase.of("EP 2 by all-to-all", TinyTextModels.MOE, EP, SequenceParallelMode.ULYSSES, dtype)
                .with(ExpertDispatch.ALL_TO_ALL));
        out.add(EquivalenceCase.of("Ulysses 2 x EP 2", TinyTextModels.MOE, SP_EP, SequenceParallelMode.ULYSSES, dtype));
        out.add(EquivalenceCase.of("ring 2 x EP 2", TinyTextModels.MOE, SP_EP, SequenceParallelMode.RING, dtype));
        return out;
    }
}
