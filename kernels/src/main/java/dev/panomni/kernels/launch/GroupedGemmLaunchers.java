package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;

/**
 * Typed launchers for the grouped GEMM kernels of {@code kernels/cuda/grouped_gemm.cu}: one launch
 * per call whatever the number of groups, with the group offsets read on the device. The kernels
 * take contiguous BF16 or F16 operands at 16-byte aligned addresses with every dimension a
 * multiple of 8 ({@link #supports}); the caller falls back to per-group products otherwise.
 */
public final class GroupedGemmLaunchers {
    private static final int TILE = 128;
    /** Four warps of 64 x 64 (the kernel's WIDE warp grid). */
    private static final int THREADS = 128;
    private static final FloatKernel16 FWD = new FloatKernel16("fwd");
    private static final FloatKernel16 DX = new FloatKernel16("dx");
    private static final FloatKernel16 DW = new FloatKernel16("dw");

    /** The bf16 and f16 entry points of one pass. */
    private record FloatKernel16(KernelLauncher bf16, KernelLauncher f16) {
        FloatKernel16(String pass) {
            this(new KernelLauncher("grouped_gemm", "grouped_gemm_" + pass + "_bf16"),
                    new KernelLauncher("grouped_gemm", "grouped_gemm_" + pass + "_f16"));
        }

        KernelLauncher of(DType dt) {
            return dt == DType.BF16 ? bf16 : f16;
        }
    }

    private GroupedGemmLaunchers() {
    }

    /** Whether the kernels take these operands: BF16/F16, contiguous, 16-byte aligned, last dims multiples of 8. */
    public static boolean supports(Tensor... ts) {
        DType dt = ts[0].dtype();
        if (dt != DType.BF16 && dt != DType.F16) {
            return false;
        }
        for (Tensor t : ts) {
            // Row counts are free; the other dims of the row operands and of the stacked weights are not.
            boolean dims = t.size(-1) % 8 == 0 && (t.rank() != 3 || t.size(1) % 8 == 0);
            if (t.dtype() != dt || !t.isContiguous() || !dims) {
                return false;
            }
        }
        return FloatKernel.aligned16(ts);
    }

    /**
     * out_g [rows_g, N] = x_g [rows_g, K] w_g^T.
     *
     * @param offsets I64 [G + 1] on the device, non-decreasing from 0 to R
     */
    public static void forward(CudaStream s, Tensor x, Tensor w, Tensor offsets, Tensor out) {
        rows(s, FWD, "forward", x, w, offsets, out, w.size(2), w.size(1));
    }

    /** dx_g [rows_g, K] = dy_g [rows_g, N] w_g, w [G, N, K]. */
    public static void backwardInput(CudaStream s, Tensor dy, Tensor w, Tensor offsets, Tensor dx) {
        rows(s, DX, "backwardInput", dy, w, offsets, dx, w.size(1), w.size(2));
    }

    /**
     * The two row-grouped passes, whose kernels share a signature: {@code in} [R, inner] times the
     * group's matrix of {@code w} into {@code out} [R, cols].
     */
    private static void rows(CudaStream s, FloatKernel16 kernel, String pass, Tensor in, Tensor w, Tensor offsets,
                             Tensor out, long inner, long cols) {
        int groups = Math.toIntExact(w.size(0));
        if (in.size(0) == 0 || cols == 0) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(in).ptr(w).ptr(offsets).i32(groups).ptr(out).i64(inner).i64(cols);
            kernel.of(in.dtype()).launch(s, rowGrid(in.size(0), groups, cols), a,
                    "GroupedGemmKernels." + pass + " " + in.describe() + ", w " + w.describe());
        }
    }

    /** dw_g [N, K] = dy_g^T x_g over each group's rows; empty groups get zeros. */
    public static void backwardWeight(CudaStream s, Tensor dy, Tensor x, Tensor offsets, Tensor dw) {
        int groups = Math.toIntExact(dw.size(0));
        long n = dw.size(1);
        long k = dw.size(2);
        if (groups == 0 || n == 0 || k == 0) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(dy).ptr(x).ptr(offsets).ptr(dw).i64(n).i64(k);
            LaunchConfig c = new LaunchConfig(Math.toIntExact(tiles(k)), Math.toIntExact(tiles(n)), groups, THREADS, 1,
                    1, 0);
            DW.of(dy.dtype()).launch(s, c, a,
                    "GroupedGemmKernels.backwardWeight dy " + dy.describe() + ", x " + x.describe());
        }
    }

    /** Row tiles (a bound: every group may end in a partial tile) by column tiles. */
    private static LaunchConfig rowGrid(long rows, int groups, long cols) {
        return new LaunchConfig(Math.toIntExact(tiles(rows) + groups), Math.toIntExact(tiles(cols)), 1, THREADS, 1, 1, 0);
    }

    private static long tiles(long v) {
        return (v + TILE - 1) / TILE;
    }
}
