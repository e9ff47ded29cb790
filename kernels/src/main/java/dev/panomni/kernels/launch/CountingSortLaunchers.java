package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.Tensor;

/** Typed launchers for the kernels of {@code kernels/cuda/counting_sort.cu}. */
public final class CountingSortLaunchers {
    /** CSORT_THREADS of counting_sort.cu. */
    private static final int THREADS = 512;
    private static final KernelLauncher COUNT = new KernelLauncher("counting_sort", "counting_sort_count");
    private static final KernelLauncher PLACE = new KernelLauncher("counting_sort", "counting_sort_place");

    private CountingSortLaunchers() {
    }

    /**
     * Counts, then lists, the entries of {@code keys} [rows, cols] (I64, contiguous) with keys in
     * {@code [lo, lo + buckets)}, one block per bucket in each pass.
     *
     * @param counts [buckets] I64
     * @param flat   [rows * cols] I64: flat indices, bucket by bucket
     * @param row    [rows * cols] I64: their rows
     */
    public static void sort(CudaStream s, Tensor keys, long lo, Tensor counts, Tensor flat, Tensor row) {
        long buckets = counts.numel();
        if (buckets == 0) {
            return;
        }
        long n = keys.numel();
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(keys).i64(n).i64(lo).ptr(counts);
            COUNT.launch(s, LaunchConfig.linear(buckets, THREADS), a, "CountingSortKernels.count " + keys.describe());
        }
        if (n == 0) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(keys).i64(n).i64(keys.size(1)).i64(lo).ptr(counts).ptr(flat).ptr(row);
            PLACE.launch(s, LaunchConfig.linear(buckets, THREADS), a, "CountingSortKernels.place " + keys.describe());
        }
    }
}
