package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.Tensor;

/** Typed launchers for the kernels of {@code kernels/cuda/counting_sort.cu}. */
public final class CountingSortLaunchers {
    /** CSORT_THREADS of counting_sort.cu. */
    private static final int THREADS = 512;
    /** CSORT_CHUNK of counting_sort.cu: keys per counting block. */
    private static final int CHUNK = 8192;
    /** The counting blocks' histogram lives in 48 KiB of shared memory, 4 bytes a bucket. */
    public static final int MAX_BUCKETS = 12_288;
    private static final KernelLauncher COUNT = new KernelLauncher("counting_sort", "counting_sort_count");
    private static final KernelLauncher PLACE = new KernelLauncher("counting_sort", "counting_sort_place");

    private CountingSortLaunchers() {
    }

    /**
     * Counts the entries of {@code keys} (I64, contiguous, n entries) with keys in
     * {@code [lo, lo + buckets)} into {@code counts} [buckets] I64, which must hold zeros.
     */
    public static void count(CudaStream s, Tensor keys, long lo, Tensor counts) {
        long buckets = counts.numel();
        long n = keys.numel();
        if (buckets > MAX_BUCKETS) {
            throw new IllegalArgumentException("counting sort: " + buckets + " buckets, at most " + MAX_BUCKETS
                    + " fit the counting kernel's shared memory");
        }
        if (buckets == 0 || n == 0) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(keys).i64(n).i64(lo).i32((int) buckets).ptr(counts);
            COUNT.launch(s, LaunchConfig.linear((n + CHUNK - 1) / CHUNK, THREADS).withShared((int) buckets * 4), a,
                    "CountingSortKernels.count " + keys.describe());
        }
    }

    /**
     * Counts ({@link #count}), then lists, the entries of {@code keys} [rows, cols] (I64, contiguous)
     * with keys in {@code [lo, lo + buckets)}, one block per bucket.
     *
     * @param counts [buckets] I64 holding zeros
     * @param flat   [rows * cols] I64: flat indices, bucket by bucket
     * @param row    [rows * cols] I64: their rows
     * @param slot   [rows * cols] I64: each entry's place in the list (the number listed where unlisted)
     */
    public static void sort(CudaStream s, Tensor keys, long lo, Tensor counts, Tensor flat, Tensor row,
                            Tensor slot) {
        count(s, keys, lo, counts);
        long buckets = counts.numel();
        long n = keys.numel();
        if (buckets == 0 || n == 0) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(keys).i64(n).i64(keys.size(1)).i64(lo).ptr(counts).ptr(flat).ptr(row).ptr(slot);
            PLACE.launch(s, LaunchConfig.linear(buckets, THREADS), a, "CountingSortKernels.place " + keys.describe());
        }
    }
}
