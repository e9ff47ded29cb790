package dev.panomni.nn;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Norms;

/** RMSNorm over the last dim (Llama, Qwen): parameter {@code weight} [dim], initialized to ones. */
public final class RMSNorm extends Module {
    private final long dim;
    private final double eps;

    /**
     * @param dim the normalized (last) dim
     * @param eps added to the mean square before the root (1e-6 for Qwen, 1e-5 for Llama)
     */
    public RMSNorm(long dim, double eps) {
        if (dim <= 0 || !(eps >= 0)) {
            throw new IllegalArgumentException("RMSNorm: needs dim > 0 and eps >= 0, got dim=" + dim + " eps=" + eps);
        }
        this.dim = dim;
        this.eps = eps;
        registerParameter("weight", Tensor.ones(dim));
    }

    /**
     * @param x [..., dim] in the weight's dtype
     * @return [..., dim]
     */
    public Tensor forward(Tensor x) {
        return Norms.rmsNorm(x, param("weight"), eps);
    }

    public long dim() {
        return dim;
    }

    public double eps() {
        return eps;
    }
}
