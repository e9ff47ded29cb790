package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.Tensor;

/** Typed launchers for the kernels of {@code kernels/cuda/softmax.cu}. */
public final class SoftmaxLaunchers {
    private static final int PER_THREAD = 8;
    private static final FloatKernel FORWARD = new FloatKernel("softmax", "softmax_forward");
    private static final FloatKernel BACKWARD = new FloatKernel("softmax", "softmax_backward");

    private SoftmaxLaunchers() {
    }

    /** Softmax (or log-softmax) of each row of n elements of contiguous x into y (may be x). */
    public static void forward(CudaStream s, Tensor x, boolean log, Tensor y, long rows, long n) {
        if (rows == 0 || n == 0) {
            return;
        }
        RowGroups rg = RowGroups.of(rows, units(n, x, y), PER_THREAD);
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(x).ptr(y).i64(rows).i64(n).i32(rg.group()).i32(log ? 1 : 0);
            FORWARD.of(y.dtype()).launch(s, rg.config(), a, (log ? "SoftmaxKernels.logSoftmax " : "SoftmaxKernels.softmax ")
                    + y.describe());
        }
    }

    /** The backward of {@link #forward} from its output y and the output gradient. */
    public static void backward(CudaStream s, Tensor y, Tensor gradOut, boolean log, Tensor gradIn, long rows, long n) {
        if (rows == 0 || n == 0) {
            return;
        }
        RowGroups rg = RowGroups.of(rows, units(n, y, gradOut, gradIn), PER_THREAD);
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(y).ptr(gradOut).ptr(gradIn).i64(rows).i64(n).i32(rg.group()).i32(log ? 1 : 0);
            BACKWARD.of(y.dtype()).launch(s, rg.config(), a, "SoftmaxKernels.backward " + y.describe());
        }
    }

    /** Work units of a row: 16-byte vectors when the kernel will use them, else elements. */
    static long units(long n, Tensor... ts) {
        int w = FloatKernel.vectorWidth(ts[0].dtype());
        return n % w == 0 && FloatKernel.aligned16(ts) ? n / w : n;
    }
}
