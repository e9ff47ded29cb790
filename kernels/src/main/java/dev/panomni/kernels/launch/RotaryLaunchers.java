package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;

/** Typed launchers for the kernels of {@code kernels/cuda/rotary.cu}. */
public final class RotaryLaunchers {
    private static final int THREADS = 256;
    private static final FloatKernel ROPE = new FloatKernel("rotary", "rope");

    private RotaryLaunchers() {
    }

    /** Rotates x [N, H, D] (contiguous) by positions [N] times invFreq [D/2] into out (may be x). */
    public static void rope(CudaStream s, Tensor x, Tensor positions, Tensor invFreq, boolean inverse, Tensor out) {
        long n = x.size(0);
        int h = Math.toIntExact(x.size(1));
        int d = Math.toIntExact(x.size(2));
        if (n == 0 || h == 0 || d < 2) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(x).ptr(positions).i32(positions.dtype() == DType.I64 ? 1 : 0).ptr(invFreq).i32(inverse ? 1 : 0)
                    .ptr(out).i64(n).i32(h).i32(d);
            ROPE.of(x.dtype()).launch(s, LaunchConfig.linear(n, THREADS), a, "RotaryKernels.rope " + x.describe());
        }
    }
}
