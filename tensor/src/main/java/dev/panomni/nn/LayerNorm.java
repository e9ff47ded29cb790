package dev.panomni.nn;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Norms;

/**
 * LayerNorm over the last dim: parameters {@code weight} [dim] (ones) and, unless disabled,
 * {@code bias} [dim] (zeros).
 */
public final class LayerNorm extends Module {
    private final long dim;
    private final double eps;

    /** With a bias, as PyTorch's {@code nn.LayerNorm}. */
    public LayerNorm(long dim, double eps) {
        this(dim, eps, true);
    }

    /**
     * @param dim  the normalized (last) dim
     * @param eps  added to the variance before the root (1e-5 or 1e-6 typically)
     * @param bias whether to learn an additive bias
     */
    public LayerNorm(long dim, double eps, boolean bias) {
        if (dim <= 0 || !(eps >= 0)) {
            throw new IllegalArgumentException("LayerNorm: needs dim > 0 and eps >= 0, got dim=" + dim + " eps=" + eps);
        }
        this.dim = dim;
        this.eps = eps;
        registerParameter("weight", Tensor.ones(dim));
        if (bias) {
            registerParameter("bias", Tensor.zeros(dim));
        }
    }

    /**
     * @param x [..., dim] in the parameters' dtype
     * @return [..., dim]
     */
    public Tensor forward(Tensor x) {
        return Norms.layerNorm(x, param("weight"), paramOrNull("bias"), eps);
    }

    public long dim() {
        return dim;
    }

    public double eps() {
        return eps;
    }
}
