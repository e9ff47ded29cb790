package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.Tensor;

/** Typed launchers for the kernels of {@code kernels/cuda/grouped_rows.cu}. */
public final class GroupedRowsLaunchers {
    private static final int THREADS = 128;
    private static final FloatKernel SUM = new FloatKernel("grouped_rows", "grouped_rows_sum");

    private GroupedRowsLaunchers() {
    }

    /**
     * out [groups, width] = per group the sum of the member rows of t [m, width] (members [groups, j]
     * I64; a member equal to m adds nothing). All contiguous; t and out of one float dtype.
     */
    public static void sum(CudaStream s, Tensor t, Tensor members, Tensor out) {
        long groups = members.size(0);
        long m = t.size(0);
        long width = out.numel() / Math.max(1, groups);
        if (groups == 0 || width == 0) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(t).i64(m).ptr(members).i64(groups).i32(Math.toIntExact(members.size(1))).i64(width).ptr(out);
            // A block per output row; the kernel strides over rows past the grid.
            SUM.of(t.dtype()).launch(s, LaunchConfig.linear(Math.min(groups, 1 << 20), THREADS), a,
                    "GroupedRowsKernels.sum " + t.describe() + " by " + members.describe());
        }
    }
}
