package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/** Kernels for broadcasting arithmetic. Tensors are all on this backend's device, of one dtype. */
public interface ArithKernels {
    /** The binary operations {@link #binary} computes. */
    enum BinaryOp { ADD, SUB, MUL, DIV }

    /**
     * {@code out = a op b} elementwise. {@code a} and {@code b} have {@code out}'s shape and any
     * strides (broadcast dims have stride 0); {@code out} is contiguous and may be {@code a}.
     */
    void binary(BinaryOp op, Tensor a, Tensor b, Tensor out);

    /** {@code out = a * scale + shift} elementwise; {@code a} and {@code out} contiguous, same shape. */
    void affine(Tensor a, double scale, double shift, Tensor out);

    /**
     * Sums {@code src} (contiguous) into {@code dst} (contiguous), where {@code dst}'s shape, left
     * padded with ones to src's rank, has each dim equal to src's or 1: the reduction that undoes a
     * broadcast.
     */
    void sumTo(Tensor src, Tensor dst);
}
