package dev.panomni.nn;

import dev.panomni.tensor.Tensor;

/**
 * Where a mixture-of-experts layer's routed rows are computed. The layer routes its tokens, groups
 * the (token, slot) rows by expert and hands them here; {@link #LOCAL} runs every expert on this
 * device, an expert-parallel executor sends rows to the rank that owns their expert and brings the
 * results back. Installed through {@link PluggableExperts}.
 */
@FunctionalInterface
public interface ExpertExecutor {
    /**
     * @param rows            [N, hidden] this rank's routed rows, grouped by expert (expert 0's rows first)
     * @param tokensPerExpert [E] rows per expert, over all E experts of the layer (host values)
     * @param experts         the expert computation over the experts this rank holds
     * @return [N, hidden] each row's expert output, in the order of {@code rows}
     */
    Tensor execute(Tensor rows, long[] tokensPerExpert, ExpertMlp experts);

    /** The layer's expert MLPs over the experts this rank holds (all of them on a single device). */
    @FunctionalInterface
    interface ExpertMlp {
        /**
         * @param rows    [M, hidden] rows grouped by local expert
         * @param offsets local experts + 1 row offsets (0 first, M last)
         * @return [M, hidden]
         */
        Tensor apply(Tensor rows, long[] offsets);
    }

    /** Every expert on this device. */
    ExpertExecutor LOCAL = (rows, counts, experts) -> experts.apply(rows, offsets(counts));

    /** Exclusive prefix sums of {@code counts}: {@code counts.length + 1} offsets from 0. */
    static long[] offsets(long[] counts) {
        long[] o = new long[counts.length + 1];
        for (int i = 0; i < counts.length; i++) {
            o[i + 1] = o[i] + counts[i];
        }
        return o;
    }
}
