package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * The device side of global gradient-norm clipping: a sum of squares per tensor into a device
 * vector, one combine into a device scalar, and a scale that reads that scalar on the device, so
 * clipping never waits on a host round trip per tensor.
 */
public interface GradNormKernels {
    /**
     * {@code partials[i] = sum of tensors[i]^2}, accumulated in at least F32 (the CPU uses double).
     *
     * @param tensors  contiguous floating tensors (F32, BF16, F16), all on this device
     * @param partials F32 [tensors.length], written
     */
    void sumOfSquares(Tensor[] tensors, Tensor partials);

    /**
     * {@code norm = sqrt(sum(partials))}.
     *
     * @param partials F32 [n]
     * @param norm     F32 [] (a scalar), written
     */
    void combineNorm(Tensor partials, Tensor norm);

    /**
     * Scales every tensor in place by {@code min(1, maxNorm / (norm + eps))}, or leaves them as they
     * are when {@code norm} is not finite (so a NaN or infinite gradient stays visible to the caller
     * instead of being zeroed or spread).
     *
     * @param tensors contiguous floating tensors, updated in place
     * @param norm    F32 [] on this device: the total norm from {@link #combineNorm}
     * @param maxNorm the largest norm allowed
     * @param eps     guards the division (1e-6 in {@code clipGradNorm})
     */
    void scaleToMaxNorm(Tensor[] tensors, Tensor norm, double maxNorm, double eps);
}
