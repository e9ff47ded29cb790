package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Typed launchers for the kernels of {@code kernels/cuda/indexing.cu} (gather, scatter-add,
 * index-select, index-add, and the index checks). Kernels that meet an index out of range record
 * the smallest such position of the index tensor in a device slot (an I64 tensor of one element);
 * {@link #resetBad} arms it and {@link #readBad} brings it to the host (waiting for the device).
 */
public final class IndexingLaunchers {
    private static final int THREADS = 256;
    /** Value of a slot that recorded nothing. */
    public static final long NONE = Long.MAX_VALUE;
    private static final KernelLauncher RESET_BAD = new KernelLauncher("indexing", "index_reset_bad");
    private static final KernelLauncher CHECK = new KernelLauncher("indexing", "index_check");
    private static final KernelLauncher GATHER = new KernelLauncher("indexing", "gather_any");
    private static final KernelLauncher SCATTER_ADD = new KernelLauncher("indexing", "scatter_add_any");
    private static final KernelLauncher INDEX_SELECT = new KernelLauncher("indexing", "index_select_any");
    private static final KernelLauncher INDEX_ADD_COLUMNS = new KernelLauncher("indexing", "index_add_columns");
    private static final KernelLauncher SORTED_INDEX_ADD = new KernelLauncher("indexing", "sorted_index_add");

    private IndexingLaunchers() {
    }

    private static int wide(Tensor index) {
        return index.dtype() == DType.I64 ? 1 : 0;
    }

    /** Sets the slot (I64 [1]) to {@link #NONE}. */
    public static void resetBad(CudaStream s, Tensor bad) {
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(bad);
            RESET_BAD.launch(s, LaunchConfig.linear(1, 32), a, "index check reset");
        }
    }

    /** The slot's value on the host; waits for the work queued before. */
    public static long readBad(CudaStream s, Tensor bad) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(ValueLayout.JAVA_LONG);
            s.device().copyToHost(CudaTensors.address(bad), host, 8);
            return host.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /** Records the first entry of index [n] outside [0, size). */
    public static void check(CudaStream s, Tensor index, long size, Tensor bad) {
        long n = index.numel();
        if (n == 0) {
            return;
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(index).i32(wide(index)).i64(n).i64(size).ptr(bad);
            CHECK.launch(s, LaunchConfig.gridStride(s.device(), n, THREADS), a, "index check " + index.describe());
        }
    }

    /** torch.gather: out[p] = src[p with coordinate dim = index[p]]; index and out contiguous. */
    public static void gather(CudaStream s, Tensor src, int dim, Tensor index, Tensor out, Tensor bad) {
        long n = out.numel();
        if (n == 0) {
            return;
        }
        long[] walk = src.strides();
        walk[dim] = 0;
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(src).strided(index.shape(), walk).i64(src.stride(dim)).i64(src.size(dim)).ptr(index).i32(wide(index))
                    .ptr(out).i64(n).i32(out.dtype().byteSize()).ptr(bad);
            GATHER.launch(s, LaunchConfig.gridStride(s.device(), n, THREADS), a, "IndexingKernels.gather " + out.describe());
        }
    }

    /** torch.scatter_add_ in place: dst and src any strides, index contiguous; each dst element adds in source order. */
    public static void scatterAdd(CudaStream s, Tensor dst, int dim, Tensor index, Tensor src, Tensor bad) {
        long[] shape = index.shape();
        int r = shape.length;
        long m = shape[dim];
        long inner = 1;
        for (int d = dim + 1; d < r; d++) {
            inner *= shape[d];
        }
        long positions = m == 0 ? 0 : index.numel() / m;
        if (positions == 0) {
            return;
        }
        long[] posShape = drop(shape, dim);
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(dst).strided(posShape, drop(dst.strides(), dim)).i64(dst.stride(dim))
                    .ptr(src).strided(posShape, drop(src.strides(), dim)).i64(src.stride(dim))
                    .ptr(index).i32(wide(index)).i64(positions).i64(m).i64(inner).i64(dst.size(dim))
                    .i32(dst.dtype().ordinal()).ptr(bad);
            SCATTER_ADD.launch(s, LaunchConfig.gridStride(s.device(), positions, THREADS), a,
                    "IndexingKernels.scatterAdd " + dst.describe());
        }
    }

    /**
     * out[o, j, :] = src[o, index[j], :] for contiguous src [outer, size, inner] and out [outer, n, inner]
     * (any dtype; embeddings use it with outer = 1).
     */
    public static void indexSelect(CudaStream s, Tensor src, long outer, long size, long inner, Tensor index,
                                   Tensor out, Tensor bad, String op) {
        long n = index.numel();
        if (outer * n * inner == 0) {
            return;
        }
        long rowBytes = inner * src.dtype().byteSize();
        int unit = 16;
        long addresses = CudaTensors.address(src) | CudaTensors.address(out);
        while (unit > 1 && (rowBytes % unit != 0 || addresses % unit != 0)) {
            unit >>= 1;
        }
        long unitsPerRow = rowBytes / unit;
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(src).i64(size).ptr(index).i32(wide(index)).i64(n).ptr(out).i64(outer).i64(unitsPerRow).i32(unit)
                    .ptr(bad);
            INDEX_SELECT.launch(s, LaunchConfig.gridStride(s.device(), outer * n * unitsPerRow, THREADS), a, op);
        }
    }

    /**
     * index_add, column form: thread per (o, c) walking j in order. dst and src may differ in dtype when
     * both are floats (BF16/F16 data is added into an F32 working copy of dst, so each sum is rounded
     * once); integers need equal dtypes. Runs only if the slot still holds {@link #NONE} (run
     * {@link #check} first).
     */
    public static void indexAddColumns(CudaStream s, Tensor dst, Tensor src, Tensor index, long outer, long size,
                                       long inner, Tensor bad) {
        long n = index.numel();
        if (outer * inner == 0 || n == 0) {
            return;
        }
        if (dst.dtype() != src.dtype() && !(dst.dtype().isFloating() && src.dtype().isFloating())) {
            throw new IllegalArgumentException("index_add_columns adds " + src.describe() + " into " + dst.describe()
                    + ": integer data needs equal dtypes");
        }
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(dst).i32(dst.dtype().ordinal()).ptr(src).i32(src.dtype().ordinal()).ptr(index).i32(wide(index))
                    .i64(n).i64(outer).i64(size).i64(inner).ptr(bad);
            INDEX_ADD_COLUMNS.launch(s, LaunchConfig.gridStride(s.device(), outer * inner, THREADS), a,
                    "IndexingKernels.indexAdd " + dst.describe());
        }
    }

    /**
     * index_add, sorted form: keys from {@link SortLaunchers#sortIndexKeys} (n of them); block per run
     * start and outer slice. dst [outer, size, inner] and src [outer, n, inner] contiguous, of their own
     * dtypes (the embedding backward adds a compute-dtype gradient into an F32 weight gradient). Each
     * destination element is summed in fp32 and rounded once; any number of outer slices (the blocks
     * of grid y loop over them).
     */
    public static void sortedIndexAdd(CudaStream s, Tensor keys, long n, long outer, long size, long inner, Tensor src,
                                      Tensor dst, Tensor bad, String op) {
        if (n == 0 || outer == 0 || inner == 0) {
            return;
        }
        int threads = (int) Math.min(256, Math.max(32, (inner + 31) / 32 * 32));
        try (KernelArgs a = KernelArgs.open()) {
            a.ptr(keys).i64(n).i64(outer).i64(size).i64(inner).ptr(src).i32(src.dtype().ordinal()).ptr(dst)
                    .i32(dst.dtype().ordinal()).ptr(bad);
            SORTED_INDEX_ADD.launch(s, new LaunchConfig(Math.toIntExact(n), (int) Math.min(outer, 65535), 1, threads, 1, 1, 0), a, op);
        }
    }

    private static long[] drop(long[] a, int i) {
        long[] out = new long[a.length - 1];
        System.arraycopy(a, 0, out, 0, i);
        System.arraycopy(a, i + 1, out, i, a.length - i - 1);
        return out;
    }
}
