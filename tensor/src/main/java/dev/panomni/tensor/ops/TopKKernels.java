package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/** Kernels for selecting the largest entries along a dim. */
public interface TopKKernels {
    /**
     * The {@code k} largest entries of each line of {@code src} along {@code dim}, largest first; equal
     * values keep ascending index order and NaN counts as larger than every number (as in torch).
     * {@code src} is contiguous, of a floating dtype this backend computes natively; {@code values}
     * (src's dtype) and {@code indices} (I64) are contiguous with src's shape except {@code k} along
     * {@code dim}, where {@code 0 <= k <= src.size(dim)}.
     */
    void topk(Tensor src, int dim, int k, Tensor values, Tensor indices);
}
