package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.UnaryKernels.UnaryOp;

/** Typed launchers for the kernels of {@code kernels/cuda/unary.cu}. */
public final class UnaryLaunchers {
    private static final int THREADS = 256;
    private static final FloatKernel FORWARD = new FloatKernel("unary", "unary_forward");
    private static final FloatKernel BACKWARD = new FloatKernel("unary", "unary_backward");

    private UnaryLaunchers() {
    }

    /** {@code y = op(x)}: contiguous, one float dtype and size; y may be x. */
    public static void forward(CudaStream s, UnaryOp op, double exponent, Tensor x, Tensor y) {
        long n = y.numel();
        if (n == 0) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.i32(op.ordinal()).f32((float) exponent).ptr(x).ptr(y).i64(n);
            FORWARD.of(y.dtype()).launch(s, grid(s, n, y), a, "UnaryKernels.forward " + op + " " + y.describe());
        }
    }

    /** {@code gradIn = gradOut * op'(saved)}: contiguous, one float dtype and size; gradIn may be gradOut. */
    public static void backward(CudaStream s, UnaryOp op, double exponent, Tensor saved, Tensor gradOut, Tensor gradIn) {
        long n = gradIn.numel();
        if (n == 0) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.i32(op.ordinal()).f32((float) exponent).ptr(saved).ptr(gradOut).ptr(gradIn).i64(n);
            BACKWARD.of(gradIn.dtype()).launch(s, grid(s, n, gradIn), a,
                    "UnaryKernels.backward " + op + " " + gradIn.describe());
        }
    }

    private static LaunchConfig grid(CudaStream s, long n, Tensor like) {
        return LaunchConfig.gridStride(s.device(), Math.max(1, n / FloatKernel.vectorWidth(like.dtype())), THREADS);
    }
}
