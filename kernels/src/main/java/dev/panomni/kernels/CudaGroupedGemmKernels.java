package dev.panomni.kernels;

import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.GroupedGemmKernels;

/**
 * Grouped GEMM (Mixture-of-Experts layers) as one cuBLASLt product per non-empty group, queued
 * back to back on the compute stream, each reading its row run and its group's matrix in place
 * (transposes through strides, no copies) and writing straight into the output rows.
 *
 * <p>Row counts change with every routing, so each product takes cuBLASLt's heuristic choice
 * ({@link CudaLinalgKernels#gemmUntuned}) instead of a timing round per new shape. With many small
 * groups the launch count and a heuristic query per new row count dominate. The next step is one grouped kernel per call (a CUTLASS-style grouped GEMM, or
 * cuBLAS's grouped-batched API) taking the offsets from device memory, so routing never needs
 * them on the host.
 */
public final class CudaGroupedGemmKernels implements GroupedGemmKernels {
    private final CudaLinalgKernels gemm;

    CudaGroupedGemmKernels(CudaLinalgKernels gemm) {
        this.gemm = gemm;
    }

    @Override
    public void forward(Tensor x, Tensor w, long[] offsets, Tensor out) {
        long k = x.size(1);
        long n = w.size(1);
        for (int g = 0; g + 1 < offsets.length; g++) {
            long rows = offsets[g + 1] - offsets[g];
            if (rows == 0) {
                continue;
            }
            try (Scope s = Scope.open("groupedGemm")) {
                // out_g [rows, N] = x_g [rows, K] @ w_g^T [K, N]
                Tensor a = rowsOf(x, offsets[g], rows, k);
                Tensor b = w.restrided(new long[] {1, k, n}, new long[] {0, 1, k}, w.offset() + g * n * k);
                gemm.gemmUntuned(a, b, rowsOf(out, offsets[g], rows, n), 1f, 0f);
            }
        }
    }

    @Override
    public void backwardInput(Tensor dy, Tensor w, long[] offsets, Tensor dx) {
        long n = w.size(1);
        long k = w.size(2);
        for (int g = 0; g + 1 < offsets.length; g++) {
            long rows = offsets[g + 1] - offsets[g];
            if (rows == 0) {
                continue;
            }
            try (Scope s = Scope.open("groupedGemm")) {
                // dx_g [rows, K] = dy_g [rows, N] @ w_g [N, K]
                Tensor b = w.restrided(new long[] {1, n, k}, new long[] {0, k, 1}, w.offset() + g * n * k);
                gemm.gemmUntuned(rowsOf(dy, offsets[g], rows, n), b, rowsOf(dx, offsets[g], rows, k), 1f, 0f);
            }
        }
    }

    @Override
    public void backwardWeight(Tensor dy, Tensor x, long[] offsets, Tensor dw) {
        long n = dw.size(1);
        long k = dw.size(2);
        for (int g = 0; g + 1 < offsets.length; g++) {
            long rows = offsets[g + 1] - offsets[g];
            try (Scope s = Scope.open("groupedGemm")) {
                Tensor dst = dw.restrided(new long[] {1, n, k}, new long[] {n * k, k, 1}, dw.offset() + g * n * k);
                if (rows == 0) {
                    CudaTensors.device(dw).memsetBytes(CudaTensors.address(dst), (byte) 0,
                            n * k * dw.dtype().byteSize(), CudaTensors.device(dw).computeStream());
                    continue;
                }
                // dw_g [N, K] = dy_g^T [N, rows] @ x_g [rows, K]
                Tensor a = dy.restrided(new long[] {1, n, rows}, new long[] {0, 1, n}, dy.offset() + offsets[g] * n);
                gemm.gemmUntuned(a, rowsOf(x, offsets[g], rows, k), dst, 1f, 0f);
            }
        }
    }

    /** Rows [first, first + rows) of a contiguous [M, cols] tensor as a [1, rows, cols] view. */
    private static Tensor rowsOf(Tensor t, long first, long rows, long cols) {
        return t.restrided(new long[] {1, rows, cols}, new long[] {rows * cols, cols, 1}, t.offset() + first * cols);
    }
}
