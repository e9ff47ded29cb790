package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.Tensor;

/** Typed launchers for the kernels of {@code kernels/cuda/topk.cu}. */
public final class TopKLaunchers {
    /** TOPK_SMEM of topk.cu: lines up to this long, and selections up to this many, sort in shared memory. */
    private static final int SMEM_KEYS = 2048;
    private static final int THREADS = 1024;
    private static final FloatKernel TOPK = new FloatKernel("topk", "topk");

    private TopKLaunchers() {
    }

    /** 8-byte workspace elements {@link #topk} needs (0: none). */
    public static long workspaceElements(long lines, long n, int k) {
        if (n <= SMEM_KEYS || k <= SMEM_KEYS) {
            return 0;
        }
        return lines * SortLaunchers.paddedLength(k);
    }

    /**
     * The k largest of each line of contiguous src [outer, n, inner] along the middle dim, sorted;
     * values [outer, k, inner] (src's dtype), indices I64.
     *
     * @param workspace 8-byte elements per {@link #workspaceElements}, or null when that is 0
     */
    public static void topk(CudaStream s, Tensor src, long outer, long n, long inner, int k, Tensor values,
                            Tensor indices, Tensor workspace) {
        long lines = outer * inner;
        if (lines == 0 || k == 0) {
            return;
        }
        int threads = n <= SMEM_KEYS ? (int) Math.min(THREADS, Math.max(32, SortLaunchers.paddedLength(n) / 2)) : THREADS;
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(src).i64(outer).i64(n).i64(inner).i32(k).ptr(values).ptr(indices).ptrOrNull(workspace);
            TOPK.of(src.dtype()).launch(s, LaunchConfig.linear(lines, threads), a,
                    "TopKKernels.topk k=" + k + " of " + src.describe());
        }
    }
}
