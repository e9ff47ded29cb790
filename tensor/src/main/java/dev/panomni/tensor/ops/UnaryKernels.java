package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * Kernels for elementwise math functions and their derivatives. All tensors are contiguous, of one
 * floating dtype the backend computes natively (F32 on the CPU), on this backend's device, and of
 * one shape.
 */
public interface UnaryKernels {
    /** The functions {@link #forward} computes; the backward of each reads either its input or its output. */
    enum UnaryOp {
        /** e^x; backward reads y: dy/dx = y. */
        EXP(true),
        /** Natural log; log 0 = -inf, log of a negative is NaN; backward reads x: 1/x. */
        LOG(false),
        /** Square root; backward reads y: 1/(2y). */
        SQRT(true),
        /** 1/sqrt(x); backward reads y: -y^3/2. */
        RSQRT(true),
        /** Hyperbolic tangent; backward reads y: 1 - y^2. */
        TANH(true),
        /** 1/(1 + e^-x); backward reads y: y(1 - y). */
        SIGMOID(true),
        /** x * sigmoid(x); backward reads x: s(1 + x(1 - s)), s = sigmoid(x). */
        SILU(false),
        /** GELU, tanh approximation: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); backward reads x. */
        GELU_TANH(false),
        /** GELU, exact: x Phi(x) with Phi the standard normal CDF; backward reads x: Phi(x) + x phi(x). */
        GELU_ERF(false),
        /** x^2; backward reads x: 2x. */
        SQUARE(false),
        /** x^p for the kernel's exponent p (NaN for negative x and non-integer p); backward reads x: p x^(p-1), 0 for p = 0. */
        POW(false),
        /** |x|; backward reads x: sign(x), 0 at 0. */
        ABS(false);

        private final boolean backwardReadsOutput;

        UnaryOp(boolean backwardReadsOutput) {
            this.backwardReadsOutput = backwardReadsOutput;
        }

        /** True when {@link #backward} takes the forward's output y, false when it takes its input x. */
        public boolean backwardReadsOutput() {
            return backwardReadsOutput;
        }
    }

    /**
     * {@code y = op(x)} elementwise; {@code y} may be {@code x}.
     *
     * @param exponent p for {@link UnaryOp#POW}; ignored by the other ops
     */
    void forward(UnaryOp op, double exponent, Tensor x, Tensor y);

    /**
     * {@code gradIn = gradOut * op'(x)} elementwise, where {@code saved} is y when
     * {@link UnaryOp#backwardReadsOutput()}, else x. {@code gradIn} may be {@code gradOut}.
     */
    void backward(UnaryOp op, double exponent, Tensor saved, Tensor gradOut, Tensor gradIn);
}
