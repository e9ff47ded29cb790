package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * Fused row normalizations over the last dim, forward and backward. Every tensor is contiguous and
 * on this backend's device; {@code x}, {@code y}, {@code dy}, {@code dx}, {@code weight} and
 * {@code bias} share one compute dtype (F32 on the CPU), while the per-row statistics
 * ({@code mean}, {@code rstd}) and the weight and bias gradients are always F32.
 *
 * <p>Shapes: {@code x}, {@code y}, {@code dy}, {@code dx} are [rows, D]; {@code weight},
 * {@code bias}, {@code dweight}, {@code dbias} are [D]; {@code mean}, {@code rstd} are [rows].
 * Weight and bias gradients are sums over rows and must be reduced deterministically (the same
 * bits every run, whatever the thread count): no racing float atomics.
 */
public interface NormKernels {
    /**
     * {@code y = x * rstd * weight} with {@code rstd = 1 / sqrt(mean(x^2) + eps)} per row.
     * {@code rstd} may be null when no backward will run.
     */
    void rmsNormForward(Tensor x, Tensor weight, float eps, Tensor y, Tensor rstd);

    /**
     * Gradients of {@link #rmsNormForward} given {@code dy}, using the forward's {@code rstd}.
     * {@code dx} or {@code dweight} may be null when not needed; {@code dweight} is overwritten.
     */
    void rmsNormBackward(Tensor dy, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dweight);

    /**
     * {@code y = (x - mean) * rstd * weight + bias} with the row mean, {@code rstd = 1 /
     * sqrt(var + eps)} and the biased row variance. {@code bias} may be null (no bias);
     * {@code mean} and {@code rstd} may both be null when no backward will run.
     */
    void layerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor y, Tensor mean, Tensor rstd);

    /**
     * Gradients of {@link #layerNormForward} given {@code dy}. {@code dx}, {@code dweight} and
     * {@code dbias} may each be null when not needed; the non-null ones are overwritten.
     */
    void layerNormBackward(Tensor dy, Tensor x, Tensor weight, Tensor mean, Tensor rstd,
                           Tensor dx, Tensor dweight, Tensor dbias);
}
