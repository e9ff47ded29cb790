package dev.panomni.nn;

import dev.panomni.tensor.Device;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.RecomputeStash;
import dev.panomni.tensor.ops.Indexing;

/**
 * The (token, slot) assignments of one mixture-of-experts forward sorted by expert: the part of the
 * routing fixed by which experts were chosen, apart from the router weights' values. Sorting happens
 * on the host (a counting sort: the choices are read on the host anyway, for the grouped GEMM's
 * offsets and the all-to-all's counts), so a recomputation takes the order back from the first run's
 * {@link RecomputeStash} rather than reading the choices and sorting again.
 *
 * @param tokensPerExpert [E] rows per expert
 * @param rowToken        [T*k] the token of each sorted row (host values, ascending within an expert)
 * @param rowTokenIndex   [T*k] I64 on the tokens' device: {@code rowToken}
 * @param sortedAssign    [T*k] I64 on the tokens' device: the flat (token * k + slot) of each sorted row
 */
public record ExpertOrder(long[] tokensPerExpert, long[] rowToken, Tensor rowTokenIndex, Tensor sortedAssign) {

    /**
     * Sorts the assignments by expert, stably.
     *
     * @param chosen  [T*k] each (token, slot)'s expert, token-major
     * @param k       experts per token
     * @param experts experts of the layer (E)
     * @param device  where the index vectors go (the tokens' device)
     */
    public static ExpertOrder sort(long[] chosen, int k, int experts, Device device) {
        if (k < 1 || chosen.length % k != 0) {
            throw new IllegalArgumentException("expert routing: " + chosen.length + " choices are not T*k for k = " + k);
        }
        long[] counts = new long[experts];
        for (long c : chosen) {
            if (c < 0 || c >= experts) {
                throw new IllegalArgumentException("expert routing: expert " + c + " out of range [0, " + experts + ")");
            }
            counts[(int) c]++;
        }
        long[] next = new long[experts];
        for (int j = 1; j < experts; j++) {
            next[j] = next[j - 1] + counts[j - 1];
        }
        long[] order = new long[chosen.length];
        long[] rowToken = new long[chosen.length];
        for (int a = 0; a < chosen.length; a++) {
            int at = (int) next[(int) chosen[a]]++;
            order[at] = a;
            rowToken[at] = a / k;
        }
        return GradMode.noGrad(() -> new ExpertOrder(counts, rowToken,
                Tensor.ofLongs(rowToken, rowToken.length).to(device), Tensor.ofLongs(order, order.length).to(device)));
    }

    /**
     * The routing with the router weights of this forward.
     *
     * @param weights [T, k] or [T*k] each (token, slot)'s router weight, in the tokens' dtype
     */
    public ExpertRouting route(Tensor weights) {
        return new ExpertRouting(tokensPerExpert, rowToken, rowTokenIndex,
                Indexing.indexSelect(weights.reshape(rowToken.length), 0, sortedAssign));
    }

    /** This order with its device vectors held by {@code stash} (for the recomputation to take back). */
    public ExpertOrder heldBy(RecomputeStash stash) {
        return new ExpertOrder(tokensPerExpert, rowToken, stash.hold(rowTokenIndex), stash.hold(sortedAssign));
    }
}
