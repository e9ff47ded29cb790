package dev.panomni.nn;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;

/**
 * A mixture-of-experts router's decision for a batch of tokens, as it left the router: still on the
 * device, token-major, unsorted. An {@link ExpertExecutor} turns it into rows grouped by expert
 * ({@link ExpertOrder}), on the device, reading only counts on the host.
 *
 * @param chosen  [T, k] I64 on the tokens' device: each (token, slot)'s expert, in [0, experts)
 * @param weights [T, k] each (token, slot)'s router weight, in the tokens' dtype on their device
 *                (differentiable: the router learns through it)
 * @param experts routed experts of the layer over all ranks (E)
 */
public record ExpertChoice(Tensor chosen, Tensor weights, int experts) {
    public ExpertChoice {
        if (chosen.dtype() != DType.I64 || chosen.rank() != 2) {
            throw new IllegalArgumentException("expert choice: chosen experts must be I64 [tokens, k], got "
                    + chosen.describe());
        }
        if (weights.numel() != chosen.numel()) {
            throw new IllegalArgumentException("expert choice: " + weights.describe() + " router weights for "
                    + chosen.describe() + " choices");
        }
        if (experts < 1) {
            throw new IllegalArgumentException("expert choice: the layer must have experts, got " + experts);
        }
    }

    /** Tokens routed (T). */
    public long tokens() {
        return chosen.size(0);
    }

    /** Experts per token (k). */
    public int perToken() {
        return Math.toIntExact(chosen.size(1));
    }
}
