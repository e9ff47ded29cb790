package dev.panomni.parallel.sp;

/**
 * The layout of the sequence being processed, shared by the sequence-parallel attention functions
 * of one rank: the training loop sets it for each batch (from the {@link SequenceShard} the
 * collator made) before the forward.
 */
public final class SequenceContext {
    private SequenceLayout layout;

    public void set(SequenceLayout layout) {
        this.layout = layout;
    }

    /** The current layout; throws when the loop did not set one. */
    public SequenceLayout layout() {
        if (layout == null) {
            throw new IllegalStateException("sequence-parallel attention needs the batch's sequence layout: set it with "
                    + "ParallelModel.setSequenceLayout(shard.layout()) before the forward");
        }
        return layout;
    }
}
