package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.Tensor;

/** Typed launchers for the kernels of {@code kernels/cuda/selection.cu}. */
public final class SelectionLaunchers {
    private static final int THREADS = 256;
    private static final KernelLauncher WHERE = new KernelLauncher("selection", "where_strided_any");

    private SelectionLaunchers() {
    }

    /** {@code out = cond ? a : b}: cond (BOOL), a and b of out's shape with any strides; out contiguous. */
    public static void where(CudaStream s, Tensor cond, Tensor a, Tensor b, Tensor out) {
        long n = out.numel();
        if (n == 0) {
            return;
        }
        StridedOperands it = StridedOperands.of(out.shape(), cond.strides(), a.strides(), b.strides());
        try (KernelArgs k = KernelArgs.open()) {
            k.ptr(cond).strided(it, 0).ptr(a).strided(it, 1).ptr(b).strided(it, 2).ptr(out).i64(n)
                    .i32(out.dtype().byteSize());
            WHERE.launch(s, LaunchConfig.gridStride(s.device(), n, THREADS), k, "SelectionKernels.where " + out.describe());
        }
    }
}
