package dev.panomni.parallel.sp;

import dev.panomni.nn.AttentionFunction;
import dev.panomni.parallel.comm.Communicator;

/** Builds the sequence-parallel attention function for a mode. */
public final class SequenceParallelAttention {
    private SequenceParallelAttention() {
    }

    /** The attention function for {@code mode} over the sp group, reading layouts from {@code context}. */
    public static AttentionFunction create(SequenceParallelMode mode, Communicator sp, SequenceContext context) {
        return switch (mode) {
            case ULYSSES -> new UlyssesAttention(sp, context);
            case RING -> new RingAttention(sp, context);
        };
    }
}
