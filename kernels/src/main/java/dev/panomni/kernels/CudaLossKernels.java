package dev.panomni.kernels;

import dev.panomni.kernels.launch.LossLaunchers;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.LossKernels;

/**
 * CUDA cross-entropy (loss.cu): a thread group per row computes the row maximum and sum of
 * exponentials in one online pass; the fused kernel writes the gradient in a second pass over the
 * row. {@link #checkTargets} synchronizes (its answer is a host value).
 */
public final class CudaLossKernels implements LossKernels {
    CudaLossKernels() {
    }

    @Override
    public TargetCheck checkTargets(Tensor targets, long classes, long ignoreIndex) {
        CudaStream s = CudaTensors.device(targets).computeStream();
        try (Scope scope = Scope.open("checkTargets")) {
            Tensor scratch = Tensor.empty(DType.I64, targets.device(), 2);
            long[] r = LossLaunchers.checkTargets(s, targets, classes, ignoreIndex, scratch);
            return new TargetCheck(r[0], r[1]);
        }
    }

    @Override
    public void crossEntropyForward(Tensor logits, Tensor targets, long ignoreIndex, Tensor rowLoss, Tensor rowLse) {
        LossLaunchers.forward(CudaTensors.device(logits).computeStream(), logits, targets, ignoreIndex, rowLoss, rowLse);
    }

    @Override
    public void crossEntropyBackward(Tensor logits, Tensor targets, long ignoreIndex, Tensor rowLse, Tensor upstream,
                                     double scale, Tensor gradLogits) {
        LossLaunchers.backward(CudaTensors.device(logits).computeStream(), logits, targets, ignoreIndex, rowLse, upstream,
                scale, gradLogits);
    }

    @Override
    public void crossEntropyFused(Tensor logits, Tensor targets, long ignoreIndex, double gradScale, Tensor rowLoss,
                                  Tensor gradLogits) {
        LossLaunchers.fused(CudaTensors.device(logits).computeStream(), logits, targets, ignoreIndex, gradScale, rowLoss,
                gradLogits);
    }
}
