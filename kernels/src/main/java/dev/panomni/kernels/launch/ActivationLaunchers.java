package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.Tensor;

/** Typed launchers for the kernels of {@code kernels/cuda/activation.cu}. */
public final class ActivationLaunchers {
    private static final int THREADS = 256;
    private static final FloatKernel SWIGLU_FORWARD = new FloatKernel("activation", "swiglu_forward");
    private static final FloatKernel SWIGLU_BACKWARD = new FloatKernel("activation", "swiglu_backward");

    private ActivationLaunchers() {
    }

    /** {@code out = silu(gate) * up}; contiguous, one float dtype and size. */
    public static void swigluForward(CudaStream s, Tensor gate, Tensor up, Tensor out) {
        long n = out.numel();
        if (n == 0) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(gate).ptr(up).ptr(out).i64(n);
            SWIGLU_FORWARD.of(out.dtype()).launch(s, grid(s, n, out), a, "ActivationKernels.swigluForward " + out.describe());
        }
    }

    /** Gradients of {@link #swigluForward}; dgate or dup may be null. */
    public static void swigluBackward(CudaStream s, Tensor dout, Tensor gate, Tensor up, Tensor dgate, Tensor dup) {
        long n = dout.numel();
        if (n == 0 || (dgate == null && dup == null)) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(dout).ptr(gate).ptr(up).ptrOrNull(dgate).ptrOrNull(dup).i64(n);
            SWIGLU_BACKWARD.of(dout.dtype()).launch(s, grid(s, n, dout), a,
                    "ActivationKernels.swigluBackward " + dout.describe());
        }
    }

    private static LaunchConfig grid(CudaStream s, long n, Tensor like) {
        return LaunchConfig.gridStride(s.device(), Math.max(1, n / FloatKernel.vectorWidth(like.dtype())), THREADS);
    }
}
