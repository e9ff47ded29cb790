package dev.panomni.kernels;

import dev.panomni.kernels.launch.SoftmaxLaunchers;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.SoftmaxKernels;

/** CUDA softmax and log-softmax over the last dim (softmax.cu): a thread group per row. */
public final class CudaSoftmaxKernels implements SoftmaxKernels {
    CudaSoftmaxKernels() {
    }

    @Override
    public void forward(Tensor x, boolean log, Tensor y) {
        long n = lastDim(x);
        SoftmaxLaunchers.forward(CudaTensors.device(y).computeStream(), x, log, y, n == 0 ? 0 : x.numel() / n, n);
    }

    @Override
    public void backward(Tensor y, Tensor gradOut, boolean log, Tensor gradIn) {
        long n = lastDim(y);
        SoftmaxLaunchers.backward(CudaTensors.device(gradIn).computeStream(), y, gradOut, log, gradIn,
                n == 0 ? 0 : y.numel() / n, n);
    }

    private static long lastDim(Tensor t) {
        return t.rank() == 0 ? 1 : t.size(-1);
    }
}
