package dev.panomni.kernels;

import dev.panomni.kernels.launch.ArithLaunchers;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.ArithKernels;

import java.util.Arrays;

/**
 * CUDA broadcasting arithmetic: one kernel over any strides and dtypes (floats computed in fp32),
 * with a 16-byte-access path for contiguous F32 operands of one shape. Integer division by zero
 * yields 0 here, where the CPU throws.
 */
public final class CudaArithKernels implements ArithKernels {
    CudaArithKernels() {
    }

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        CudaStream s = CudaTensors.device(out).computeStream();
        if (Arrays.equals(a.shape(), out.shape()) && ArithLaunchers.canRunF32Contiguous(a, b, out)) {
            ArithLaunchers.binaryF32Contiguous(s, op, a, b, out);
        } else {
            ArithLaunchers.binaryStrided(s, op, a, b, out);
        }
    }

    @Override
    public void affine(Tensor a, double scale, double shift, Tensor out) {
        ArithLaunchers.affine(CudaTensors.device(out).computeStream(), a, scale, shift, out);
    }

    @Override
    public void sumTo(Tensor src, Tensor dst) {
        ArithLaunchers.sumTo(CudaTensors.device(dst).computeStream(), src, dst);
    }
}
