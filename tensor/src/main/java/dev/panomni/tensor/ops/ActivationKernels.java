package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * Fused gated activations, forward and backward. All tensors are contiguous, of one shape and one
 * compute dtype (F32 on the CPU), on this backend's device; they are read as flat arrays.
 */
public interface ActivationKernels {
    /** {@code out = silu(gate) * up} with {@code silu(g) = g * sigmoid(g)}. */
    void swigluForward(Tensor gate, Tensor up, Tensor out);

    /**
     * Gradients of {@link #swigluForward} given {@code dout}: {@code dgate = dout * up *
     * silu'(gate)}, {@code dup = dout * silu(gate)}. Either output may be null when not needed.
     */
    void swigluBackward(Tensor dout, Tensor gate, Tensor up, Tensor dgate, Tensor dup);
}
