package dev.panomni.kernels;

import dev.panomni.kernels.launch.RotaryLaunchers;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.RotaryKernels;

/** CUDA rotary embedding (rotary.cu): a block per token, each angle's cosine and sine computed once. */
public final class CudaRotaryKernels implements RotaryKernels {
    CudaRotaryKernels() {
    }

    @Override
    public void rope(Tensor x, Tensor positions, Tensor invFreq, boolean inverse, Tensor out) {
        RotaryLaunchers.rope(CudaTensors.device(out).computeStream(), x, positions, invFreq, inverse, out);
    }
}
