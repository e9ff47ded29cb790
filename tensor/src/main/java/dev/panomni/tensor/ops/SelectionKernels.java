package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/** Kernels that pick elements from one of two tensors by a boolean condition. */
public interface SelectionKernels {
    /**
     * {@code out = cond ? a : b} elementwise. {@code cond} (BOOL), {@code a} and {@code b} have
     * {@code out}'s shape and any strides (broadcast dims have stride 0); {@code out} is contiguous.
     * {@code a}, {@code b} and {@code out} share one dtype, which may be any (elements are moved,
     * not computed).
     */
    void where(Tensor cond, Tensor a, Tensor b, Tensor out);
}
