package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * Rotary position embedding in the rotate-half layout (Hugging Face Llama/Qwen): for each token n,
 * head h and {@code i < D/2}, with {@code a = positions[n] * invFreq[i]} (an F32 product),
 * <pre>
 *   out[n, h, i]       = x[n, h, i] * cos(a) - x[n, h, i + D/2] * sin(a)
 *   out[n, h, i + D/2] = x[n, h, i + D/2] * cos(a) + x[n, h, i] * sin(a)
 * </pre>
 * The inverse rotation (by {@code -a}) is the backward. Tensors are contiguous and on this
 * backend's device.
 */
public interface RotaryKernels {
    /**
     * @param x         [N, H, D] in the compute dtype (F32 on the CPU), D even
     * @param positions [N] I64 or I32 (any values; packed sequences restart per document)
     * @param invFreq   [D/2] F32 angular frequencies (radians per position)
     * @param inverse   rotate by {@code -a} (the backward)
     * @param out       [N, H, D], x's dtype; may be x itself
     */
    void rope(Tensor x, Tensor positions, Tensor invFreq, boolean inverse, Tensor out);
}
