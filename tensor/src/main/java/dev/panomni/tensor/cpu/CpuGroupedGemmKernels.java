package dev.panomni.tensor.cpu;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.GroupedGemmKernels;
import dev.panomni.tensor.ops.Layout;
import dev.panomni.tensor.ops.Linalg;

/**
 * CPU grouped GEMM: each group is one call of the CPU GEMM on views of the row run and the group's
 * matrix (the GEMM itself spreads over the cores), writing straight into the output's rows.
 */
final class CpuGroupedGemmKernels implements GroupedGemmKernels {
    @Override
    public void forward(Tensor x, Tensor w, long[] offsets, Tensor out) {
        for (int g = 0; g + 1 < offsets.length; g++) {
            long rows = offsets[g + 1] - offsets[g];
            if (rows == 0) {
                continue;
            }
            try (Scope s = Scope.open("groupedGemm")) {
                Tensor xg = x.narrow(0, offsets[g], rows);
                Tensor wg = w.narrow(0, g, 1).squeeze(0);
                Layout.copyInto(Linalg.matmul(xg, wg.t()), out.narrow(0, offsets[g], rows));
            }
        }
    }

    @Override
    public void backwardInput(Tensor dy, Tensor w, long[] offsets, Tensor dx) {
        for (int g = 0; g + 1 < offsets.length; g++) {
            long rows = offsets[g + 1] - offsets[g];
            if (rows == 0) {
                continue;
            }
            try (Scope s = Scope.open("groupedGemm")) {
                Tensor dyg = dy.narrow(0, offsets[g], rows);
                Tensor wg = w.narrow(0, g, 1).squeeze(0);
                Layout.copyInto(Linalg.matmul(dyg, wg), dx.narrow(0, offsets[g], rows));
            }
        }
    }

    @Override
    public void backwardWeight(Tensor dy, Tensor x, long[] offsets, Tensor dw) {
        for (int g = 0; g + 1 < offsets.length; g++) {
            long rows = offsets[g + 1] - offsets[g];
            try (Scope s = Scope.open("groupedGemm")) {
                Tensor dst = dw.narrow(0, g, 1).squeeze(0);
                if (rows == 0) {
                    Layout.fill(dst, 0.0);
                    continue;
                }
                Tensor dyg = dy.narrow(0, offsets[g], rows);
                Tensor xg = x.narrow(0, offsets[g], rows);
                Layout.copyInto(Linalg.matmul(dyg.t(), xg), dst);
            }
        }
    }
}
