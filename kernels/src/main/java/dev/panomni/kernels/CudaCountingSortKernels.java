package dev.panomni.kernels;

import dev.panomni.kernels.launch.CountingSortLaunchers;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.CountingSortKernels;

/**
 * CUDA counting sort (counting_sort.cu): blocks count chunks of the keys into shared-memory histograms,
 * then a block per bucket lists its entries in entry order by a block-wide scan; the CPU version is {@code CpuCountingSortKernels}.
 */
public final class CudaCountingSortKernels implements CountingSortKernels {
    CudaCountingSortKernels() {
    }

    @Override
    public void count(Tensor keys, long lo, Tensor counts) {
        CountingSortLaunchers.count(CudaTensors.device(keys).computeStream(), keys, lo, counts);
    }

    @Override
    public void sort(Tensor keys, long lo, Tensor counts, Tensor flat, Tensor row, Tensor slot) {
        CountingSortLaunchers.sort(CudaTensors.device(keys).computeStream(), keys, lo, counts, flat, row, slot);
    }
}
