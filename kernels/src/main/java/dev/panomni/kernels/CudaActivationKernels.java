package dev.panomni.kernels;

import dev.panomni.kernels.launch.ActivationLaunchers;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.ActivationKernels;

/** CUDA SwiGLU (activation.cu): one pass over the tensors, 16-byte accesses, fp32 math. */
public final class CudaActivationKernels implements ActivationKernels {
    CudaActivationKernels() {
    }

    @Override
    public void swigluForward(Tensor gate, Tensor up, Tensor out) {
        ActivationLaunchers.swigluForward(CudaTensors.device(out).computeStream(), gate, up, out);
    }

    @Override
    public void swigluBackward(Tensor dout, Tensor gate, Tensor up, Tensor dgate, Tensor dup) {
        ActivationLaunchers.swigluBackward(CudaTensors.device(dout).computeStream(), dout, gate, up, dgate, dup);
    }
}
