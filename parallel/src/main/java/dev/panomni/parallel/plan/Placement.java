package dev.panomni.parallel.plan;

import dev.panomni.parallel.mesh.MeshDim;

/** How one parameter is laid out over the mesh. */
public sealed interface Placement {
    /** Every rank of the mesh holds the whole parameter (gradients all-reduced over data parallel). */
    record Replicated() implements Placement {
    }

    /** FSDP (ZeRO-3): flattened and split evenly over the {@code over} dimension, gathered before use. */
    record Sharded(MeshDim over) implements Placement {
    }

    /**
     * Expert parameters stacked on dim 0 ([experts, ...]): split by expert over {@link MeshDim#EP},
     * then each rank's experts FSDP-sharded over {@link MeshDim#EP_FSDP}.
     */
    record ExpertSharded() implements Placement {
    }
}
