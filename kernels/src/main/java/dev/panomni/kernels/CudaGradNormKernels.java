package dev.panomni.kernels;

import dev.panomni.kernels.launch.OptimLaunchers;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.GradNormKernels;

/**
 * Gradient norms on the device (optim.cu): sums of squares of all tensors in one launch plus a
 * deterministic per-tensor combine, the total norm in a one-block kernel, and the clip scale read
 * from device memory, so clipping never waits for the host.
 */
public final class CudaGradNormKernels implements GradNormKernels {
    CudaGradNormKernels() {
    }

    @Override
    public void sumOfSquares(Tensor[] tensors, Tensor partials) {
        OptimLaunchers.sumOfSquares(CudaTensors.device(partials).computeStream(), tensors, partials);
    }

    @Override
    public void combineNorm(Tensor partials, Tensor norm) {
        OptimLaunchers.combineNorm(CudaTensors.device(norm).computeStream(), partials, norm);
    }

    @Override
    public void scaleToMaxNorm(Tensor[] tensors, Tensor norm, double maxNorm, double eps) {
        OptimLaunchers.scaleToMaxNorm(CudaTensors.device(norm).computeStream(), tensors, norm, maxNorm, eps);
    }
}
