package dev.panomni.kernels;

import dev.panomni.kernels.launch.GroupedGemmLaunchers;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.GroupedGemmKernels;

/**
 * Grouped GEMM (Mixture-of-Experts layers). BF16/F16 operands whose dimensions are multiples of 8
 * run as one launch of our tensor-core kernel ({@link GroupedGemmLaunchers}) whatever the number of
 * groups, with the offsets copied to the device; anything else (F32, odd sizes or alignments) as
 * one cuBLASLt product per non-empty group, queued back to back on the compute stream, each reading
 * its row run and its group's matrix in place (transposes through strides, no copies) and writing
 * straight into the output rows.
 *
 * <p>Row counts change with every routing, so each product takes cuBLASLt's heuristic choice
 * ({@link CudaLinalgKernels#gemmUntuned}) instead of a timing round per new shape; with many small
 * groups the launch count and a heuristic query per new row count dominate, which is why the
 * single-launch kernel is the main path. {@code -Dpanomni.cuda.groupedGemm=cublaslt} (read at each call)
 * forces the per-group path, to compare the two (bench: {@code GroupedGemmBenchmark}).
 */
public final class CudaGroupedGemmKernels implements GroupedGemmKernels {
    private final CudaLinalgKernels gemm;

    CudaGroupedGemmKernels(CudaLinalgKernels gemm) {
        this.gemm = gemm;
    }

    /** Whether the single-launch kernel may be used (the switch in the class comment). */
    private static boolean kernelAllowed() {
        return !"cublaslt".equalsIgnoreCase(System.getProperty("panomni.cuda.groupedGemm"));
    }

    /** The offsets as a device I64 tensor of the current scope. */
    private static Tensor deviceOffsets(long[] offsets, Tensor like) {
        return Tensor.ofLongs(offsets, offsets.length).to(like.device());
    }

    @Override
    public void forward(Tensor x, Tensor w, long[] offsets, Tensor out) {
        if (kernelAllowed() && GroupedGemmLaunchers.supports(x, w, out)) {
            try (Scope s = Scope.open("groupedGemm")) {
                GroupedGemmLaunchers.forward(CudaTensors.device(out).computeStream(), x, w, deviceOffsets(offsets, x), out);
            }
            return;
        }
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
        if (kernelAllowed() && GroupedGemmLaunchers.supports(dy, w, dx)) {
            try (Scope s = Scope.open("groupedGemm")) {
                GroupedGemmLaunchers.backwardInput(CudaTensors.device(dx).computeStream(), dy, w,
                        deviceOffsets(offsets, dy), dx);
            }
            return;
        }
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
        if (kernelAllowed() && GroupedGemmLaunchers.supports(dy, x, dw)) {
            try (Scope s = Scope.open("groupedGemm")) {
                GroupedGemmLaunchers.backwardWeight(CudaTensors.device(dw).computeStream(), dy, x,
                        deviceOffsets(offsets, dy), dw);
            }
            return;
        }
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
