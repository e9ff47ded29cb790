package dev.panomni.kernels;

import dev.panomni.kernels.launch.OptimLaunchers;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.OptimizerKernels;

/**
 * AdamW and SGD as one fused multi-tensor kernel each (optim.cu): a single launch updates every
 * parameter of the call, reading F32 masters and moments and writing low-precision parameters back
 * rounded to nearest even, with the CPU's arithmetic operation for operation.
 */
public final class CudaOptimizerKernels implements OptimizerKernels {
    CudaOptimizerKernels() {
    }

    @Override
    public void adamwStep(Tensor[] params, Tensor[] grads, Tensor[] expAvg, Tensor[] expAvgSq, Tensor[] masters,
                          AdamWHyper[] hyper) {
        if (params.length == 0) {
            return;
        }
        OptimLaunchers.adamw(CudaTensors.device(params[0]).computeStream(), params, grads, expAvg, expAvgSq, masters,
                hyper);
    }

    @Override
    public void sgdStep(Tensor[] params, Tensor[] grads, Tensor[] momentumBuffers, Tensor[] masters, SgdHyper[] hyper) {
        if (params.length == 0) {
            return;
        }
        OptimLaunchers.sgd(CudaTensors.device(params[0]).computeStream(), params, grads, momentumBuffers, masters, hyper);
    }
}
