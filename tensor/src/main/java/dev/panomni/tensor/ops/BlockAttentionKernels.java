package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * Attention of a query block against a key/value block under a {@link BlockMask}, returning the
 * per-row log-sum-exp so that partial results over several key blocks can be merged (ring
 * attention), and the matching backward.
 *
 * <p>Layouts (contiguous, this backend's device, one compute dtype, F32 on the CPU): {@code q},
 * {@code out}, {@code dout}, {@code dq} [Tq, Hq, D]; {@code k}, {@code v}, {@code dk}, {@code dv}
 * [Tk, Hkv, D] with Hq a multiple of Hkv; {@code lse} and {@code dlse} F32 [Hq, Tq]; positions and
 * document ids I64 or I32 as in {@link BlockMask}. A query that sees no key gets output 0 and
 * log-sum-exp -infinity. Results are deterministic (no racing accumulation).
 */
public interface BlockAttentionKernels {
    /** {@code out = softmax(q k^T * scale + mask) v}, {@code lse[h, i] = log sum_j exp(scale q_i . k_j)} over visible j. */
    void forward(Tensor q, Tensor k, Tensor v, Tensor qPos, Tensor kPos, Tensor qDoc, Tensor kDoc, boolean causal,
                 float scale, Tensor out, Tensor lse);

    /**
     * Gradients from {@code dout} and optionally {@code dlse} (null for none), given the {@code out}
     * and {@code lse} the probabilities are normalized by. For one block these are the block's own
     * forward results; for a block of a merged (ring) attention they are the merged results, which
     * makes the returned gradients that block's share of the merged attention's gradients. Any of
     * {@code dq}, {@code dk}, {@code dv} may be null; the others are overwritten.
     */
    void backward(Tensor dout, Tensor dlse, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor qPos,
                  Tensor kPos, Tensor qDoc, Tensor kDoc, boolean causal, float scale, Tensor dq, Tensor dk, Tensor dv);

    /**
     * Merges one block's result into an accumulator in place: with {@code m = logaddexp(accLse,
     * lse)}, {@code accOut = accOut * exp(accLse - m) + out * exp(lse - m)} and {@code accLse = m};
     * -infinity on either side means "no keys seen" and contributes nothing. {@code accOut} and
     * {@code out} [Tq, Hq, D] in the compute dtype, {@code accLse} and {@code lse} F32 [Hq, Tq].
     */
    void mergeInto(Tensor accOut, Tensor accLse, Tensor out, Tensor lse);
}
