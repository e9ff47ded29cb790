package dev.panomni.parallel.engine;

import dev.panomni.parallel.sp.SequenceParallelMode;
import dev.panomni.tensor.DType;

/**
 * Engine settings that are not part of the plan.
 *
 * @param computeDtype   dtype parameters are gathered and computed in (F32 on the CPU; BF16 on GPUs);
 *                       master shards, gradients and optimizer state stay F32
 * @param sequenceParallel how sequence-parallel attention modules exchange data when sp > 1
 * @param prefetch       start the next unit's all-gather while the current one computes
 */
public record ParallelOptions(DType computeDtype, SequenceParallelMode sequenceParallel, boolean prefetch) {
    public ParallelOptions {
        if (computeDtype == null || !computeDtype.isFloating()) {
            throw new IllegalArgumentException("compute dtype must be floating, got " + computeDtype);
        }
        if (sequenceParallel == null) {
            throw new IllegalArgumentException("sequence-parallel mode must be given");
        }
    }

    /** F32 compute, Ulysses, prefetch on. */
    public static ParallelOptions defaults() {
        return new ParallelOptions(DType.F32, SequenceParallelMode.ULYSSES, true);
    }

    public ParallelOptions withComputeDtype(DType dtype) {
        return new ParallelOptions(dtype, sequenceParallel, prefetch);
    }

    public ParallelOptions withSequenceParallel(SequenceParallelMode mode) {
        return new ParallelOptions(computeDtype, mode, prefetch);
    }

    public ParallelOptions withPrefetch(boolean on) {
        return new ParallelOptions(computeDtype, sequenceParallel, on);
    }
}
