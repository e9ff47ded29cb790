package dev.panomni.nn;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Indexing;

/**
 * Where one mixture-of-experts forward sends its tokens: each of T tokens goes to k experts, and the
 * T*k (token, slot) rows are sorted by expert (stably, so within an expert by token). The layer builds
 * it after routing; an {@link ExpertExecutor} computes the weighted expert outputs from it.
 *
 * @param tokensPerExpert [E] rows per expert over all E experts of the layer (host values)
 * @param rowToken        [T*k] the token of each sorted row (host values, ascending within an expert)
 * @param rowTokenIndex   [T*k] I64 on the tokens' device: {@code rowToken}, for gathering and combining
 * @param rowWeight       [T*k] the router weight of each sorted row, in the tokens' dtype on their
 *                        device (differentiable: the router learns through it)
 */
public record ExpertRouting(long[] tokensPerExpert, long[] rowToken, Tensor rowTokenIndex, Tensor rowWeight) {
    public ExpertRouting {
        long rows = 0;
        for (long c : tokensPerExpert) {
            rows += c;
        }
        if (rows != rowToken.length || rowTokenIndex.numel() != rows || rowWeight.numel() != rows) {
            throw new IllegalArgumentException("expert routing: " + rows + " rows by the per-expert counts, but "
                    + rowToken.length + " row tokens, " + rowTokenIndex.numel() + " device row tokens and "
                    + rowWeight.numel() + " row weights");
        }
    }

    /**
     * Sorts the (token, slot) assignments by expert, stably, on the host (a counting sort: the
     * routing is read on the host anyway, for the grouped GEMM's offsets and the all-to-all's counts).
     *
     * @param chosen  [T*k] each (token, slot)'s expert, token-major
     * @param k       experts per token
     * @param experts experts of the layer (E)
     * @param weights [T*k] the router weight of each (token, slot), token-major, on the tokens' device
     *                and in their dtype
     */
    public static ExpertRouting sortByExpert(long[] chosen, int k, int experts, Tensor weights) {
        if (chosen.length % k != 0 || weights.numel() != chosen.length) {
            throw new IllegalArgumentException("expert routing: " + chosen.length + " choices for k = " + k
                    + " and " + weights.numel() + " weights; need T*k of each");
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
        long[] order = new long[chosen.length];        // sorted position -> flat (token * k + slot)
        for (int a = 0; a < chosen.length; a++) {
            order[(int) next[(int) chosen[a]]++] = a;
        }
        long[] rowToken = new long[order.length];
        for (int a = 0; a < order.length; a++) {
            rowToken[a] = order[a] / k;
        }
        Tensor sortedAssign = Tensor.ofLongs(order, order.length).to(weights.device());
        Tensor rowTokenIndex = Tensor.ofLongs(rowToken, rowToken.length).to(weights.device());
        return new ExpertRouting(counts, rowToken, rowTokenIndex,
                Indexing.indexSelect(weights.reshape(chosen.length), 0, sortedAssign));
    }

    /** Routed rows (T*k). */
    public int rows() {
        return rowToken.length;
    }
}
