package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * Kernels for sums and maxima over dims. Tensors are contiguous and on this backend's device; value
 * tensors are of one floating dtype the backend computes natively (F32 on the CPU), index tensors
 * are I64. Results must not depend on how the work is split over threads or blocks.
 */
public interface ReductionKernels {
    /**
     * {@code out = scale * (sum of x over the dims flagged in reduce)}.
     *
     * @param x      input of rank r
     * @param reduce r flags, true for each dim summed over
     * @param scale  factor applied to each sum (1 for a sum, 1/count for a mean)
     * @param out    x's shape with extent 1 on every reduced dim; sums over no elements are 0 * scale
     */
    void sum(Tensor x, boolean[] reduce, double scale, Tensor out);

    /**
     * The maximum along {@code dim} and the index of its first occurrence. NaN counts as larger than
     * every number, so a slice holding NaN yields NaN and the first NaN's index.
     *
     * @param x       input with a non-empty {@code dim}
     * @param values  x's shape with extent 1 at dim, x's dtype; null when only indices are wanted
     * @param indices same shape, I64; null when only values are wanted
     */
    void max(Tensor x, int dim, Tensor values, Tensor indices);

    /**
     * The backward of {@link #max}: fills {@code gradIn} (x's shape) with zeros, then puts each
     * element of {@code gradOut} at its argmax along {@code dim}.
     *
     * @param gradOut x's shape with extent 1 at dim
     * @param indices I64, gradOut's shape: the argmax positions {@link #max} returned
     */
    void maxBackward(Tensor gradOut, Tensor indices, int dim, Tensor gradIn);
}
