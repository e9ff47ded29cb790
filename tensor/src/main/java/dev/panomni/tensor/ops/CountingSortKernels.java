package dev.panomni.tensor.ops;

import dev.panomni.tensor.Tensor;

/**
 * Kernels of {@link CountingSort}: the stable sort of a key matrix's entries by small integer key.
 * CPU version {@code CpuCountingSortKernels}, CUDA version {@code CudaCountingSortKernels}
 * ({@code kernels/cuda/counting_sort.cu}).
 */
public interface CountingSortKernels {
    /**
     * Adds to {@code counts} the entries of {@code keys} per key in {@code [lo, lo + counts.numel())}.
     *
     * @param keys   [rows, cols] I64, contiguous
     * @param counts [buckets] I64, holding zeros on entry
     */
    void count(Tensor keys, long lo, Tensor counts);

    /**
     * Lists the entries of {@code keys} whose key lies in {@code [lo, lo + counts.numel())}, bucket by
     * bucket and by ascending entry index inside a bucket.
     *
     * @param keys   [rows, cols] I64, contiguous
     * @param lo     the key of bucket 0
     * @param counts [buckets] I64 holding zeros on entry: entries per bucket
     * @param flat   [rows * cols] I64: the listed entries' flat indices first (written), the rest untouched
     * @param row    [rows * cols] I64: the listed entries' rows (flat / cols), likewise
     * @param slot   [rows * cols] I64: each entry's place in the list, or the number listed for an
     *               entry outside the key range (written)
     */
    void sort(Tensor keys, long lo, Tensor counts, Tensor flat, Tensor row, Tensor slot);
}
