package dev.panomni.parallel.engine;

import dev.panomni.parallel.ep.ExpertDispatch;
import dev.panomni.parallel.sp.SequenceParallelMode;
import dev.panomni.tensor.DType;

/**
 * Engine settings that are not part of the plan.
 *
 * @param computeDtype   dtype parameters are gathered and computed in (F32 on the CPU; BF16 on GPUs);
 *                       master shards, gradients and optimizer state stay F32
 * @param sequenceParallel how sequence-parallel attention modules exchange data when sp > 1
 * @param prefetch       start the next unit's all-gather while the current one computes
 * @param expertDispatch how expert-parallel MoE layers move tokens to their experts when ep > 1
 */
public record ParallelOptions(DType computeDtype, SequenceParallelMode sequenceParallel, boolean prefetch,
                              ExpertDispatch expertDispatch) {
    public ParallelOptions {
        if (computeDtype == null || !computeDtype.isFloating()) {
            throw new IllegalArgumentException("compute dtype must be floating, got " + computeDtype);
        }
        if (sequenceParallel == null) {
            throw new IllegalArgumentException("sequence-parallel mode must be given");
        }
        if (expertDispatch == null) {
            throw new IllegalArgumentException("expert dispatch must be given");
        }
    }

    /** F32 compute, Ulysses, prefetch on, experts dispatched by all-gather. */
    public static ParallelOptions defaults() {
        return new ParallelOptions(DType.F32, SequenceParallelMode.ULYSSES, true, ExpertDispatch.ALL_GATHER);
    }

    public ParallelOptions withComputeDtype(DType dtype) {
        return new ParallelOptions(dtype, sequenceParallel, prefetch, expertDispatch);
    }

    public ParallelOptions withSequenceParallel(SequenceParallelMode mode) {
        return new ParallelOptions(computeDtype, mode, prefetch, expertDispatch);
    }

    public ParallelOptions withPrefetch(boolean on) {
        return new ParallelOptions(computeDtype, sequenceParallel, on, expertDispatch);
    }

    public ParallelOptions withExpertDispatch(ExpertDispatch dispatch) {
        return new ParallelOptions(computeDtype, sequenceParallel, prefetch, dispatch);
    }
}
