package dev.panomni.kernels;

import dev.panomni.kernels.launch.TopKLaunchers;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.TopKKernels;

/**
 * CUDA top-k (topk.cu): a block per line; short lines sort all their keys in shared memory, long
 * ones find the k-th key by radix select first. Ties and NaN order as on the CPU.
 */
public final class CudaTopKKernels implements TopKKernels {
    CudaTopKKernels() {
    }

    @Override
    public void topk(Tensor src, int dim, int k, Tensor values, Tensor indices) {
        long[] shape = src.shape();
        long n = shape[dim];
        long outer = 1;
        for (int i = 0; i < dim; i++) {
            outer *= shape[i];
        }
        long inner = 1;
        for (int i = dim + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        long work = TopKLaunchers.workspaceElements(outer * inner, n, k);
        try (Scope s = Scope.open("topk")) {
            Tensor ws = work == 0 ? null : Tensor.empty(DType.I64, src.device(), work);
            TopKLaunchers.topk(CudaTensors.device(src).computeStream(), src, outer, n, inner, k, values, indices, ws);
        }
    }
}
