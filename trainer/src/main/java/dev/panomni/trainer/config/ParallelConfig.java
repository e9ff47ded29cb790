package dev.panomni.trainer.config;

/**
 * {@code parallel:} the device mesh. Ranks = {@code dp_replicate * dp_shard * sp}; expert
 * parallelism reuses the {@code dp_shard * sp} ranks, so {@code ep} divides that product.
 *
 * @param dpShard     fully sharded data-parallel degree (parameters, gradients, optimizer state sharded)
 * @param dpReplicate replicated data-parallel degree (hybrid sharding across groups)
 * @param sp          sequence-parallel degree
 * @param ep          expert-parallel degree (MoE families only)
 * @param spMode      Ulysses (all-to-all over heads) or ring attention
 * @param worldSize   number of ranks expected, or null to take it from the launcher at run time
 */
public record ParallelConfig(int dpShard, int dpReplicate, int sp, int ep, SpMode spMode, Integer worldSize) {
    public static ParallelConfig defaults() {
        return new ParallelConfig(1, 1, 1, 1, SpMode.ULYSSES, null);
    }

    /** Ranks the mesh spans. */
    public long meshSize() {
        return (long) dpShard * dpReplicate * sp;
    }

    /**
     * Checks the mesh against the number of ranks the launcher started.
     *
     * @throws ConfigException naming the degrees and their product when they differ
     */
    public void checkWorldSize(int ranks) {
        if (meshSize() != ranks) {
            throw new ConfigException(java.util.List.of(new ConfigError("parallel", "dp_replicate=" + dpReplicate
                    + " x dp_shard=" + dpShard + " x sp=" + sp + " = " + meshSize(),
                    "the mesh must span exactly the " + ranks + " ranks that were launched")));
        }
    }
}
