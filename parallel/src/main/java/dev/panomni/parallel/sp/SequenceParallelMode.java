package dev.panomni.parallel.sp;

/** How attention runs over a sequence sharded across the sp ranks. */
public enum SequenceParallelMode {
    /** All-to-all to head-sharded full sequences around attention (DeepSpeed-Ulysses). */
    ULYSSES(SequenceLayout.Sharding.CONTIGUOUS),
    /** Key/value blocks passed around the ring, partial results merged by log-sum-exp. */
    RING(SequenceLayout.Sharding.LOAD_BALANCED);

    private final SequenceLayout.Sharding sharding;

    SequenceParallelMode(SequenceLayout.Sharding sharding) {
        this.sharding = sharding;
    }

    /** The sharding the collator must use. */
    public SequenceLayout.Sharding sharding() {
        return sharding;
    }
}
