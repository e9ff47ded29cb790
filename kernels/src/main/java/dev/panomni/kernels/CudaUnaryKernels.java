package dev.panomni.kernels;

import dev.panomni.kernels.launch.UnaryLaunchers;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.UnaryKernels;

/** CUDA elementwise math (unary.cu): F32, BF16 and F16 computed in fp32 registers, 16-byte accesses. */
public final class CudaUnaryKernels implements UnaryKernels {
    CudaUnaryKernels() {
    }

    @Override
    public void forward(UnaryOp op, double exponent, Tensor x, Tensor y) {
        UnaryLaunchers.forward(CudaTensors.device(y).computeStream(), op, exponent, x, y);
    }

    @Override
    public void backward(UnaryOp op, double exponent, Tensor saved, Tensor gradOut, Tensor gradIn) {
        UnaryLaunchers.backward(CudaTensors.device(gradIn).computeStream(), op, exponent, saved, gradOut, gradIn);
    }
}
