package dev.panomni.kernels;

import dev.panomni.kernels.launch.ReductionLaunchers;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.ReductionKernels;

/**
 * CUDA sums and maxima (reduction.cu). Sums accumulate in fp64 with a split of the work that depends
 * only on the shapes (partials added in order), so results are the same bits on every run.
 */
public final class CudaReductionKernels implements ReductionKernels {
    CudaReductionKernels() {
    }

    @Override
    public void sum(Tensor x, boolean[] reduce, double scale, Tensor out) {
        long bytes = ReductionLaunchers.sumWorkspaceBytes(x.shape(), reduce);
        try (Scope s = Scope.open("sum")) {
            Tensor partial = bytes == 0 ? null : Tensor.empty(DType.I64, x.device(), bytes / 8);
            ReductionLaunchers.sum(CudaTensors.device(out).computeStream(), x, reduce, scale, out, partial);
        }
    }

    @Override
    public void max(Tensor x, int dim, Tensor values, Tensor indices) {
        ReductionLaunchers.max(CudaTensors.device(x).computeStream(), x, dim, values, indices);
    }

    @Override
    public void maxBackward(Tensor gradOut, Tensor indices, int dim, Tensor gradIn) {
        ReductionLaunchers.maxBackward(CudaTensors.device(gradIn).computeStream(), gradOut, indices, dim, gradIn);
    }
}
