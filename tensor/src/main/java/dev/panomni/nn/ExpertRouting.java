package dev.panomni.nn;

import dev.panomni.tensor.Tensor;

import java.util.Arrays;

/**
 * Where one mixture-of-experts forward sends its rows: the (token, slot) rows sorted by expert
 * (stably, so within an expert by token), with their router weights. Built by
 * {@link ExpertOrder#route}; {@link ExpertExecutor#weightedExperts} computes the weighted expert
 * outputs from it.
 *
 * @param tokensPerExpert [experts] rows per expert (host values)
 * @param rowToken        [rows] I64 on the tokens' device: each row's token, for gathering and combining
 * @param choiceRow       [T, k] I64 on the tokens' device: each (token, slot)'s row, or {@code rows} where
 *                        its expert is not among the routed ones (the reverse of {@code rowToken})
 * @param rowWeight       [rows] the router weight of each row, in the tokens' dtype on their device
 *                        (differentiable: the router learns through it)
 */
public record ExpertRouting(long[] tokensPerExpert, Tensor rowToken, Tensor choiceRow, Tensor rowWeight) {
    public ExpertRouting {
        long rows = Arrays.stream(tokensPerExpert).sum();
        if (rowToken.numel() != rows || rowWeight.numel() != rows) {
            throw new IllegalArgumentException("expert routing: " + rows + " rows by the per-expert counts, but "
                    + rowToken.numel() + " row tokens and " + rowWeight.numel() + " row weights");
        }
    }
}
