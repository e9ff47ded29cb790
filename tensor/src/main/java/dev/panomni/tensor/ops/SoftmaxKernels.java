package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * Kernels for softmax and log-softmax over the last dim. Tensors are contiguous, of one shape
 * [..., n] with n >= 1, of one floating dtype the backend computes natively (F32 on the CPU), on
 * this backend's device; every row of n elements is independent.
 */
public interface SoftmaxKernels {
    /**
     * Per row: {@code y = exp(x - max) / sum(exp(x - max))}, or with {@code log},
     * {@code y = x - max - log(sum(exp(x - max)))}. {@code y} may be {@code x}.
     */
    void forward(Tensor x, boolean log, Tensor y);

    /**
     * Per row, from the forward's output y and the output gradient g: softmax
     * {@code gradIn = y * (g - sum(g * y))}; log-softmax {@code gradIn = g - exp(y) * sum(g)}.
     * {@code gradIn} may be {@code gradOut}.
     */
    void backward(Tensor y, Tensor gradOut, boolean log, Tensor gradIn);
}
