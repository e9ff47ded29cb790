package dev.panomni.parallel.engine;

import dev.panomni.parallel.plan.Placement;
import dev.panomni.tensor.Tensor;

/**
 * One model parameter as this rank holds it: its F32 master shard (the tensor the optimizer
 * updates, with the shard of the gradient in {@code grad()}), where the shard sits in the global
 * tensor, and the FSDP unit it belongs to.
 */
public final class ShardedParameter {
    private final String name;
    private final Placement placement;
    private final ShardLayout layout;
    private final Tensor shard;
    private final String unit;
    private long bucketOffset;

    ShardedParameter(String name, Placement placement, ShardLayout layout, Tensor shard, String unit) {
        this.name = name;
        this.placement = placement;
        this.layout = layout;
        this.shard = shard;
        this.unit = unit;
    }

    /** The parameter's dotted name in the model. */
    public String name() {
        return name;
    }

    public Placement placement() {
        return placement;
    }

    public ShardLayout layout() {
        return layout;
    }

    /** F32 [rowsPerRank, dims 1..]: this rank's rows, zero-padded; a leaf the optimizer updates. */
    public Tensor shard() {
        return shard;
    }

    /** The FSDP unit (module prefix, or {@link dev.panomni.parallel.plan.ParallelPlan#ROOT_UNIT}). */
    public String unit() {
        return unit;
    }

    /** Element offset of this shard in its bucket's per-rank buffer. */
    long bucketOffset() {
        return bucketOffset;
    }

    void bucketOffset(long offset) {
        this.bucketOffset = offset;
    }

    @Override
    public String toString() {
        return name + " " + layout + " " + placement;
    }
}
