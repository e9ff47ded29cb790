package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * Grouped matrix products over contiguous row groups: group g is rows [offsets[g], offsets[g+1])
 * of the row operand, multiplied with its own matrix {@code w[g]}. All tensors contiguous, one
 * dtype; a CUDA backend runs each call as one grouped GEMM.
 */
public interface GroupedGemmKernels {
    /** out_g [rows_g, N] = x_g [rows_g, K] w_g^T, w [G, N, K]. */
    void forward(Tensor x, Tensor w, long[] offsets, Tensor out);

    /** dx_g [rows_g, K] = dy_g [rows_g, N] w_g, w [G, N, K]. */
    void backwardInput(Tensor dy, Tensor w, long[] offsets, Tensor dx);

    /** dw_g [N, K] = dy_g^T x_g; groups with no rows get zeros. */
    void backwardWeight(Tensor dy, Tensor x, long[] offsets, Tensor dw);
}
