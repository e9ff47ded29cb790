package dev.panomni.kernels;

import dev.panomni.kernels.launch.GroupedRowsLaunchers;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.GroupedRowsKernels;

/** CUDA grouped-rows sum (grouped_rows.cu); the CPU version is {@code CpuGroupedRowsKernels}. */
public final class CudaGroupedRowsKernels implements GroupedRowsKernels {
    CudaGroupedRowsKernels() {
    }

    @Override
    public void sum(Tensor t, Tensor members, Tensor out) {
        GroupedRowsLaunchers.sum(CudaTensors.device(out).computeStream(), t, members, out);
    }
}
