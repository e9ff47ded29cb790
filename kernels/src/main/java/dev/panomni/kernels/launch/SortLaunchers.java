package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;

/**
 * Typed launchers for the kernels of {@code kernels/cuda/sort.cu}: an ascending bitonic sort of the
 * 64-bit keys {@code index << 32 | position}, which groups equal indices with their positions in
 * ascending order (the deterministic index-add and embedding backward build on it).
 */
public final class SortLaunchers {
    /** SORT_TILE of sort.cu. */
    private static final int TILE = 2048;
    private static final int THREADS = 256;
    private static final KernelLauncher MAKE_KEYS = new KernelLauncher("sort", "sort_make_keys");
    private static final KernelLauncher LOCAL = new KernelLauncher("sort", "sort_local");
    private static final KernelLauncher GLOBAL_STEP = new KernelLauncher("sort", "sort_global_step");
    private static final KernelLauncher LOCAL_MERGE = new KernelLauncher("sort", "sort_local_merge");

    private SortLaunchers() {
    }

    /** The padded key count for n entries (a power of two, at least 2). */
    public static long paddedLength(long n) {
        long p = 2;
        while (p < n) {
            p <<= 1;
        }
        return p;
    }

    /**
     * Fills {@code keys} (a device buffer of {@link #paddedLength} 8-byte elements, any 8-byte dtype)
     * with the sorted keys of {@code index} [n] (I32 or I64, values in [0, 2^31)).
     */
    public static void sortIndexKeys(CudaStream s, Tensor index, Tensor keys) {
        long n = index.numel();
        if (n >= (1L << 32)) {
            throw new IllegalArgumentException("sorting " + n + " indices: positions must fit 32 bits");
        }
        long npad = paddedLength(n);
        if (keys.numel() < npad || keys.dtype().byteSize() != 8) {
            throw new IllegalArgumentException("sort keys need " + npad + " 8-byte elements, got " + keys.describe());
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(index).i32(index.dtype() == DType.I64 ? 1 : 0).i64(n).i64(npad).ptr(keys);
            MAKE_KEYS.launch(s, LaunchConfig.gridStride(s.device(), npad, THREADS), a, "sort keys " + index.describe());
        }
        int tile = (int) Math.min(TILE, npad);
        long tiles = npad / tile;
        int tileThreads = Math.max(1, tile / 2);
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(keys).i64(npad);
            LOCAL.launch(s, LaunchConfig.linear(tiles, tileThreads), a, "sort tiles");
        }
        for (long k = 2L * tile; k <= npad; k <<= 1) {
            for (long j = k / 2; j >= tile; j >>= 1) {
                try (KernelArgs a = KernelArgs.open()) {
                    a.ptr(keys).i64(npad).i64(k).i64(j);
                    GLOBAL_STEP.launch(s, LaunchConfig.gridStride(s.device(), npad / 2, THREADS), a, "sort merge step");
                }
            }
            try (KernelArgs a = KernelArgs.open()) {
                a.ptr(keys).i64(npad).i64(k);
                LOCAL_MERGE.launch(s, LaunchConfig.linear(tiles, tileThreads), a, "sort tile merge");
            }
        }
    }
}
