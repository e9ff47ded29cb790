package dev.panomni.parallel.mesh;

/**
 * The named dimensions of a {@link DeviceMesh}. The physical layout is dp_replicate x dp_shard x sp
 * with sp innermost (ranks of one sequence-parallel group are neighbours, the fastest links).
 * Expert parallelism reuses the data-parallel ranks: the dp_shard x sp block is split into ep
 * (inner) x ep_fsdp (outer), as in VeOmni.
 */
public enum MeshDim {
    /** Replicas of HSDP: parameters replicated, gradients all-reduced. */
    DP_REPLICATE,
    /** FSDP shards within a replica. */
    DP_SHARD,
    /** Sequence parallel (Ulysses or ring) within a data-parallel rank. */
    SP,
    /** dp_shard x sp together: the group dense parameters are FSDP-sharded over (sp ranks hold the same weights). */
    FSDP,
    /** Expert parallel: ranks that own disjoint experts (inner part of dp_shard x sp). */
    EP,
    /** The ranks that hold the same experts, over which expert parameters are FSDP-sharded. */
    EP_FSDP,
    /** All ranks. */
    WORLD
}
