package dev.panomni.nn;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.RecomputeStash;
import dev.panomni.tensor.ops.CountingSort;
import dev.panomni.tensor.ops.GroupedRows;

/**
 * (Token, slot) choices sorted by expert: the part of the routing fixed by which experts were chosen,
 * apart from the router weights' values. The sort runs on the device ({@link CountingSort}); the host
 * reads only the per-expert counts, which size the grouped GEMM. Under activation checkpointing a
 * recomputation takes the order back from the first run's {@link RecomputeStash} ({@link #sortOrReplay})
 * and does not wait for the device at all.
 *
 * @param tokensPerExpert [experts] rows per expert of the sorted range (host values)
 * @param rowToken        [rows] I64 on the choices' device: each sorted row's token (ascending within an expert)
 * @param sortedChoice    [rows] I64 on the choices' device: each sorted row's flat (token * k + slot)
 * @param choiceRow       [T, k] I64 on the choices' device: each choice's sorted row, or {@code rows}
 *                        for a choice of an expert outside the sorted range (the reverse map)
 */
public record ExpertOrder(long[] tokensPerExpert, Tensor rowToken, Tensor sortedChoice, Tensor choiceRow) {

    /**
     * Sorts the choices of experts {@code [first, first + experts)} by expert, stably; choices of other
     * experts are left out (an expert-parallel rank keeps those of the experts it holds).
     *
     * @param chosen [T, k] I64: each (token, slot)'s expert
     */
    public static ExpertOrder sort(Tensor chosen, int first, int experts) {
        CountingSort.Result r = CountingSort.sort(chosen, first, experts);
        return new ExpertOrder(r.counts(), r.row(), r.flat(), r.slot());
    }

    /**
     * {@link #sort}, or inside a checkpointed block's recomputation the order its first run sorted
     * (no device read); the first run puts its order into the block's stash.
     */
    public static ExpertOrder sortOrReplay(Tensor chosen, int first, int experts) {
        RecomputeStash stash = RecomputeStash.current();
        if (stash != null && stash.replaying()) {
            return stash.take(ExpertOrder.class);
        }
        ExpertOrder order = sort(chosen, first, experts);
        if (stash != null) {
            stash.put(order.heldBy(stash));
        }
        return order;
    }

    /** Rows sorted (sum of {@link #tokensPerExpert}). */
    public long rows() {
        return rowToken.numel();
    }

    /**
     * The routing with the router weights of this forward.
     *
     * @param weights [T, k] or [T*k] each (token, slot)'s router weight, in the tokens' dtype
     */
    public ExpertRouting route(Tensor weights) {
        long choices = choiceRow.numel();
        Tensor rowWeight = GroupedRows.select(weights.reshape(choices, 1), sortedChoice, choiceRow.reshape(choices, 1));
        return new ExpertRouting(tokensPerExpert, rowToken, choiceRow, rowWeight.reshape(rows()));
    }

    /** This order with its device vectors held by {@code stash} (for the recomputation to take back). */
    public ExpertOrder heldBy(RecomputeStash stash) {
        return new ExpertOrder(tokensPerExpert, stash.hold(rowToken), stash.hold(sortedChoice), stash.hold(choiceRow));
    }
}
