package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * Scaled-dot-product attention over packed variable-length sequences, flash-attention style: no
 * [T, T] matrix is ever materialized; the forward saves the per-row log-sum-exp of the scaled
 * logits and the backward recomputes the probabilities from it.
 *
 * <p>Layouts (all contiguous, on this backend's device): {@code q}, {@code out}, {@code dout},
 * {@code dq} are [T, Hq, D]; {@code k}, {@code v}, {@code dk}, {@code dv} are [T, Hkv, D] with
 * {@code Hq % Hkv == 0} (query head h reads kv head {@code h / (Hq / Hkv)}); they share one
 * compute dtype (F32 on the CPU). {@code lse} is F32 [Hq, T]. {@code cuSeqlens} is I32
 * [docs + 1] (document starts, 0 first and T last) or null for one document of all T tokens; the
 * kernel reads it on the device and reports values that do not run from 0 to T without
 * decreasing as a {@link dev.panomni.tensor.TensorOpException} of op "sdpa" (a GPU backend at its
 * next synchronization). Causal masking is within each document, by position from its start.
 *
 * <p>Results must be deterministic: dk and dv sum over query heads and query blocks in a fixed
 * order (no racing atomics).
 */
public interface AttentionKernels {
    /**
     * {@code out = softmax(q k^T * scale + mask) v} per document and head; {@code lse[h, t] =
     * log(sum_j exp(scale * q[t, h] . k[j, kvh]))} over the keys row t sees. {@code lse} may be
     * null when no backward will run.
     */
    void forward(Tensor q, Tensor k, Tensor v, Tensor cuSeqlens, boolean causal, float scale,
                 Tensor out, Tensor lse);

    /**
     * Gradients of {@link #forward} given {@code dout}, from the forward's {@code out} and
     * {@code lse}. Any of {@code dq}, {@code dk}, {@code dv} may be null when not needed; the others
     * are overwritten.
     */
    void backward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor cuSeqlens,
                  boolean causal, float scale, Tensor dq, Tensor dk, Tensor dv);
}
