package dev.panomni.kernels;

import dev.panomni.kernels.launch.IndexingLaunchers;
import dev.panomni.kernels.launch.LayoutLaunchers;
import dev.panomni.kernels.launch.SortLaunchers;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.IndexingKernels;

/**
 * CUDA gather, scatter-add, index-select and index-add (indexing.cu). Indices are checked on the
 * device and a bad one is reported by the op that met it, which waits for the device to learn.
 * Accumulation is deterministic: each destination element is owned by one thread that adds its
 * sources in ascending order, in fp32, rounding BF16/F16 results once (as the CPU backend's F32
 * working copy does). index-add with few destination columns and many sources sorts the
 * indices first (sort.cu) so each destination row's sources form a run, walked by one block.
 */
public final class CudaIndexingKernels implements IndexingKernels {
    /** index-add runs the column form when it has at least this many (outer, column) threads. */
    private static final long COLUMN_THREADS = 32_768;
    /** ... or when the index is this short. */
    private static final long SHORT_INDEX = 32;

    CudaIndexingKernels() {
    }

    @Override
    public void gather(Tensor src, int dim, Tensor index, Tensor out) {
        CudaStream s = CudaTensors.device(out).computeStream();
        try (Scope scope = Scope.open("gather")) {
            Tensor bad = DeviceIndexErrors.slot(s, out);
            IndexingLaunchers.gather(s, src, dim, index, out, bad);
            report(s, bad, "gather", index, dim, src.size(dim));
        }
    }

    @Override
    public void scatterAdd(Tensor dst, int dim, Tensor index, Tensor src) {
        CudaStream s = CudaTensors.device(dst).computeStream();
        try (Scope scope = Scope.open("scatterAdd")) {
            Tensor bad = DeviceIndexErrors.slot(s, dst);
            IndexingLaunchers.scatterAdd(s, dst, dim, index, src, bad);
            report(s, bad, "scatterAdd", index, dim, dst.size(dim));
        }
    }

    @Override
    public void indexSelect(Tensor src, int dim, Tensor index, Tensor out) {
        long[] shape = src.shape();
        CudaStream s = CudaTensors.device(out).computeStream();
        try (Scope scope = Scope.open("indexSelect")) {
            Tensor bad = DeviceIndexErrors.slot(s, out);
            IndexingLaunchers.indexSelect(s, src, prod(shape, 0, dim), shape[dim], prod(shape, dim + 1, shape.length),
                    index, out, bad, "IndexingKernels.indexSelect " + src.describe());
            report(s, bad, "indexSelect", index, dim, shape[dim]);
        }
    }

    @Override
    public void indexAdd(Tensor dst, int dim, Tensor index, Tensor src) {
        long[] shape = dst.shape();
        long size = shape[dim];
        long outer = prod(shape, 0, dim);
        long inner = prod(shape, dim + 1, shape.length);
        long n = index.numel();
        CudaStream s = CudaTensors.device(dst).computeStream();
        try (Scope scope = Scope.open("indexAdd")) {
            Tensor bad = DeviceIndexErrors.slot(s, dst);
            // Every index is checked before dst is written: the add kernels do nothing once one is bad.
            IndexingLaunchers.check(s, index, size, bad);
            boolean columns = outer * inner >= COLUMN_THREADS || n <= SHORT_INDEX || n >= Integer.MAX_VALUE;
            if (columns && narrowFloat(dst.dtype())) {
                // The column form adds one source at a time into memory: for BF16/F16 it works on an F32
                // copy of dst so that each element is rounded once, as the CPU backend's F32 working copy is.
                Tensor work = Tensor.empty(DType.F32, dst.device(), dst.shape());
                LayoutLaunchers.copyStrided(s, dst, work);
                IndexingLaunchers.indexAddColumns(s, work, src, index, outer, size, inner, bad);
                LayoutLaunchers.copyStrided(s, work, dst);
            } else if (columns) {
                IndexingLaunchers.indexAddColumns(s, dst, src, index, outer, size, inner, bad);
            } else if (n > 0 && outer * inner > 0) {
                Tensor keys = Tensor.empty(DType.I64, dst.device(), SortLaunchers.paddedLength(n));
                SortLaunchers.sortIndexKeys(s, index, keys);
                IndexingLaunchers.sortedIndexAdd(s, keys, n, outer, size, inner, src, dst, bad,
                        "IndexingKernels.indexAdd " + dst.describe());
            }
            report(s, bad, "indexAdd", index, dim, size);
        }
    }

    private static boolean narrowFloat(DType dt) {
        return dt == DType.BF16 || dt == DType.F16;
    }

    private static void report(CudaStream s, Tensor bad, String op, Tensor index, int dim, long size) {
        DeviceIndexErrors.report(s, bad, op, index, dim, size);
    }

    private static long prod(long[] shape, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) {
            p *= shape[i];
        }
        return p;
    }
}
