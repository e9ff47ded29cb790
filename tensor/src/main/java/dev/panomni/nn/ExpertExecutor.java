package dev.panomni.nn;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.GroupedRows;
import dev.panomni.tensor.ops.Indexing;

/**
 * Where a mixture-of-experts layer's experts are computed. The layer routes its tokens and hands the
 * tokens and its {@link ExpertChoice} here; {@link #LOCAL} runs every expert on this device, an
 * expert-parallel executor moves tokens between the ranks that own their experts and brings the
 * weighted sums back. Installed through {@link PluggableExperts}. Executors sort the choices with
 * {@link ExpertOrder#sortOrReplay}, so a checkpointed layer's recomputation reads nothing on the host.
 */
@FunctionalInterface
public interface ExpertExecutor {
    /**
     * @param tokens  [T, hidden] this rank's tokens
     * @param choice  the router's experts and weights for them
     * @param experts the expert computation over the experts this rank holds
     * @return [T, hidden] each token's router-weighted sum of its k experts' outputs
     */
    Tensor execute(Tensor tokens, ExpertChoice choice, ExpertMlp experts);

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
    ExpertExecutor LOCAL = (tokens, choice, experts) -> {
        ExpertRouting routing = ExpertOrder.sortOrReplay(choice.chosen(), 0, choice.experts()).route(choice.weights());
        return weightedExperts(tokens, routing, experts);
    };

    /**
     * The weighted expert sum of {@code routing}: row r takes token {@code rowToken[r]}, goes through its
     * expert and is scaled by its router weight, and each token's output is the sum of its rows. Both
     * directions are gathers through the routing's reverse map ({@link GroupedRows}): no index-add, no
     * sort, in the forward or the backward.
     *
     * @param tokens [T, hidden]
     * @return [T, hidden], zero for tokens none of whose experts are routed here
     */
    static Tensor weightedExperts(Tensor tokens, ExpertRouting routing, ExpertMlp experts) {
        Tensor rows = GroupedRows.select(tokens, routing.rowToken(), routing.choiceRow());         // [M, H]
        Tensor y = experts.apply(rows, offsets(routing.tokensPerExpert()));
        Tensor weighted = Arith.mul(y, routing.rowWeight().to(y.dtype()).unsqueeze(1));
        return GroupedRows.sum(weighted, routing.choiceRow(), routing.rowToken());
    }

    /**
     * The weighted expert sum over rows grouped by expert: row r takes token {@code rowToken[r]}, goes
     * through its expert, is scaled by {@code rowWeight[r]} and added into that token's output. For rows
     * without a reverse map (an expert-parallel rank's received rows, whose tokens repeat an unknown
     * number of times): the gather's backward and the combine index-add.
     *
     * @param tokens    [T, hidden]
     * @param rowToken  [M] I64 on the tokens' device: each row's token
     * @param rowWeight [M] in the tokens' dtype
     * @param offsets   experts + 1 row offsets of the grouping
     * @return [T, hidden], zero for tokens no row names
     */
    static Tensor weightedExperts(Tensor tokens, Tensor rowToken, Tensor rowWeight, long[] offsets,
                                  ExpertMlp experts) {
        Tensor rows = Indexing.indexSelect(tokens, 0, rowToken);                     // [M, H]
        Tensor y = experts.apply(rows, offsets);
        Tensor weighted = Arith.mul(y, rowWeight.to(y.dtype()).unsqueeze(1));
        return Indexing.indexAdd(Tensor.zeros(tokens.dtype(), tokens.device(), tokens.shape()), 0, rowToken, weighted);
    }

    /** Exclusive prefix sums of {@code counts}: {@code counts.length + 1} offsets from 0. */
    static long[] offsets(long[] counts) {
        long[] o = new long[counts.length + 1];
        for (int i = 0; i < counts.length; i++) {
            o[i + 1] = o[i] + counts[i];
        }
        return o;
    }
}
