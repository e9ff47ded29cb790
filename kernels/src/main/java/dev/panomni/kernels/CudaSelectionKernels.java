package dev.panomni.kernels;

import dev.panomni.kernels.launch.SelectionLaunchers;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.SelectionKernels;

/** CUDA where (selection.cu): elements moved as raw bits, any dtype, operands through broadcast strides. */
public final class CudaSelectionKernels implements SelectionKernels {
    CudaSelectionKernels() {
    }

    @Override
    public void where(Tensor cond, Tensor a, Tensor b, Tensor out) {
        SelectionLaunchers.where(CudaTensors.device(out).computeStream(), cond, a, b, out);
    }
}
