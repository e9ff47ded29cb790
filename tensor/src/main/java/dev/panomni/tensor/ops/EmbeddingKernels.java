package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * Embedding lookup and its gradient. Tensors are contiguous and on this backend's device; ids are
 * I64 or I32, flattened to [N].
 *
 * <p>Ids outside [0, V) are reported as a {@link dev.panomni.tensor.TensorOpException} from op
 * "embedding" naming the id and V. A backend that cannot check on the host (the kernel reads ids on
 * the device) records the first bad id on the device and throws at its next synchronization.
 */
public interface EmbeddingKernels {
    /**
     * {@code out[n, :] = weight[ids[n], :]}. A pure copy of rows, so {@code weight} and {@code out}
     * are in the weight's stored dtype (any floating dtype, never widened).
     *
     * @param weight [V, D]
     * @param ids    [N] I64 or I32
     * @param out    [N, D], weight's dtype
     */
    void embeddingForward(Tensor weight, Tensor ids, Tensor out);

    /**
     * {@code dweight[ids[n], :] += dout[n, :]} for every n, deterministically: each row of
     * {@code dweight} receives its contributions in token order (no racing atomics).
     *
     * @param dout    [N, D] in the compute dtype (F32 on the CPU)
     * @param ids     [N] I64 or I32, already range-checked by the forward
     * @param dweight [V, D] F32, zero-filled by the caller, accumulated into
     */
    void embeddingBackward(Tensor dout, Tensor ids, Tensor dweight);
}
