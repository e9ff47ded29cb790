package dev.panomni.nn;

import dev.panomni.tensor.Tensor;

/**
 * Where one mixture-of-experts forward sends its tokens: each of T tokens goes to k experts, and the
 * T*k (token, slot) rows are sorted by expert (stably, so within an expert by token). The layer builds
 * it after routing ({@link ExpertOrder#route}); an {@link ExpertExecutor} computes the weighted expert
 * outputs from it.
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
}
