package dev.panomni.kernels;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.ops.EmbeddingKernels;
import dev.panomni.tensor.ops.IndexingKernels;
import dev.panomni.tensor.ops.SelectionKernels;
import dev.panomni.tensor.ops.Views;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static dev.panomni.kernels.CudaTestSupport.CUDA;
import static dev.panomni.kernels.CudaTestSupport.poisoned;
import static dev.panomni.kernels.CudaTestSupport.toCpu;
import static dev.panomni.kernels.CudaTestSupport.toGpu;
import static dev.panomni.kernels.KernelPairs.cpu;
import static dev.panomni.kernels.KernelPairs.gpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CUDA gather, scatter-add, index-select, index-add, embedding and where against the CPU backend.
 * Data kernels move or add elements without rounding differences, so most results must match the
 * CPU bit for bit; the accumulating ones add in the same (ascending source) order as the CPU.
 */
@Tag("gpu")
class CudaIndexingGpuTest {
    private static final DType[] MOVED = {DType.F32, DType.BF16, DType.F16, DType.I32, DType.I64, DType.U8, DType.BOOL};
    private static final DType[] ADDED = {DType.F32, DType.BF16, DType.F16, DType.I32, DType.I64};

    @BeforeEach
    void requireGpu() {
        CudaTestSupport.assumeGpu();
    }

    private static Tensor data(DType dt, long seed, long... shape) {
        return switch (dt) {
            case BOOL -> CudaTestSupport.random(dt, seed, 0, 2, shape);
            case U8 -> CudaTestSupport.random(dt, seed, 0, 250, shape);
            case I32, I64 -> CudaTestSupport.random(dt, seed, -1000, 1000, shape);
            default -> CudaTestSupport.random(dt, seed, -10, 10, shape);
        };
    }

    private static Tensor indices(DType it, long seed, long size, long... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        long[] v = new long[Math.toIntExact(Shapes.numel(shape))];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextLong(size);
        }
        Tensor t = Tensor.ofLongs(v, shape);
        return it == DType.I64 ? t : t.to(DType.I32);
    }

    /** Exact comparison of a GPU result with a host one of the same dtype. */
    private static void assertSame(Tensor gpuOut, Tensor cpuOut, String what) {
        Tensor back = toCpu(gpuOut);
        assertArrayEquals(cpuOut.shape(), back.shape(), what + " shape");
        if (cpuOut.dtype().isFloating()) {
            assertArrayEquals(cpuOut.toFloatArray(), back.toFloatArray(), what);
        } else {
            assertArrayEquals(cpuOut.toLongArray(), back.toLongArray(), what);
        }
    }

    @Test
    void gatherAnyDtypeAndStrides() {
        long seed = 1;
        for (DType dt : MOVED) {
            for (DType it : new DType[] {DType.I64, DType.I32}) {
                for (int dim = 0; dim < 3; dim++) {
                    try (Scope s = Scope.open("gather")) {
                        long[] srcShape = {5, 6, 7};
                        long[] idxShape = srcShape.clone();
                        idxShape[dim] = 11;
                        Tensor src = data(dt, seed++, 7, 6, 5);
                        Tensor srcView = Views.permute(src, 2, 1, 0);   // [5, 6, 7], strided
                        Tensor index = indices(it, seed++, srcShape[dim], idxShape);
                        Tensor og = poisoned(dt, CUDA, idxShape);
                        Tensor oc = Tensor.empty(dt, Device.CPU, idxShape);
                        gpu(IndexingKernels.class).gather(Views.permute(toGpu(src), 2, 1, 0), dim, toGpu(index), og);
                        cpu(IndexingKernels.class).gather(srcView, dim, index, oc);
                        assertSame(og, oc, "gather " + dt + " " + it + " dim " + dim);
                    }
                }
            }
        }
    }

    @Test
    void scatterAddInSourceOrder() {
        long seed = 100;
        for (DType dt : ADDED) {
            for (int dim = 0; dim < 3; dim++) {
                try (Scope s = Scope.open("scatterAdd")) {
                    long[] dstShape = {4, 5, 6};
                    long[] idxShape = {4, 5, 6};
                    idxShape[dim] = 40;   // many sources per destination
                    Tensor dst = dt.isFloating() ? CudaTestSupport.random(dt, seed++, -1, 1, dstShape) : data(dt, seed++, dstShape);
                    Tensor src = dt.isFloating() ? CudaTestSupport.random(dt, seed++, -1, 1, idxShape) : data(dt, seed++, idxShape);
                    Tensor index = indices(DType.I64, seed++, dstShape[dim], idxShape);
                    Tensor dg = toGpu(dst);
                    Tensor dc = dt.isFloating() ? KernelPairs.f32(dst) : dst.contiguous();
                    Tensor sc = dt.isFloating() ? KernelPairs.f32(src) : src;
                    gpu(IndexingKernels.class).scatterAdd(dg, dim, toGpu(index), toGpu(src));
                    cpu(IndexingKernels.class).scatterAdd(dc, dim, index, sc);
                    String what = "scatterAdd " + dt + " dim " + dim;
                    if (dt == DType.F32 || !dt.isFloating()) {
                        assertSame(dg, dc, what);
                    } else {
                        // 16-bit: the GPU rounds after every addition, the F32 reference once
                        KernelPairs.assertClose(dg, dc, dt, what);
                    }
                }
            }
        }
    }

    @Test
    void indexSelectRowsOfAnyWidth() {
        long seed = 200;
        for (DType dt : MOVED) {
            for (long[] shape : new long[][] {{9, 4}, {3, 50, 7}, {2, 10, 1}, {5, 8, 16}}) {
                for (int dim = 0; dim < shape.length; dim++) {
                    try (Scope s = Scope.open("indexSelect")) {
                        Tensor src = data(dt, seed++, shape);
                        Tensor index = indices(DType.I32, seed++, shape[dim], 13);
                        long[] os = shape.clone();
                        os[dim] = 13;
                        Tensor og = poisoned(dt, CUDA, os);
                        Tensor oc = Tensor.empty(dt, Device.CPU, os);
                        gpu(IndexingKernels.class).indexSelect(toGpu(src), dim, toGpu(index), og);
                        cpu(IndexingKernels.class).indexSelect(src, dim, index, oc);
                        assertSame(og, oc, "indexSelect " + dt + " " + Shapes.str(shape) + " dim " + dim);
                    }
                }
            }
        }
    }

    @Test
    void indexAddColumnAndSortedFormsMatchTheCpuBitForBit() {
        long seed = 300;
        // {dst shape, n, dim}: wide rows (column form), narrow rows with many sources (sorted form)
        long[][] cases = {{64, 1024, 5000, 0}, {50, 8, 20_000, 0}, {3, 40, 16, 7000, 1}, {1000, 1, 3000, 0},
            {7, 5, 9, 1}, {4, 100, 200, 30, 1}, {2, 70, 20_000, 50, 1}};
        for (DType dt : ADDED) {
            for (long[] c : cases) {
                try (Scope s = Scope.open("indexAdd")) {
                    int rank = c.length - 2;
                    long[] dstShape = java.util.Arrays.copyOf(c, rank);
                    long n = c[rank];
                    int dim = (int) c[rank + 1];
                    long[] srcShape = dstShape.clone();
                    srcShape[dim] = n;
                    Tensor dst = dt.isFloating() ? CudaTestSupport.random(dt, seed++, -1, 1, dstShape) : data(dt, seed++, dstShape);
                    Tensor src = dt.isFloating() ? CudaTestSupport.random(dt, seed++, -1, 1, srcShape) : data(dt, seed++, srcShape);
                    // few distinct destinations: long runs of duplicates
                    Tensor index = indices(DType.I64, seed++, Math.min(dstShape[dim], 13), n);
                    Tensor dg = toGpu(dst);
                    Tensor dc = dt.isFloating() ? KernelPairs.f32(dst) : dst.contiguous();
                    gpu(IndexingKernels.class).indexAdd(dg, dim, toGpu(index), toGpu(src));
                    cpu(IndexingKernels.class).indexAdd(dc, dim, index, dt.isFloating() ? KernelPairs.f32(src) : src);
                    String what = "indexAdd " + dt + " " + Shapes.str(dstShape) + " n " + n + " dim " + dim;
                    if (dt == DType.F32 || !dt.isFloating()) {
                        assertSame(dg, dc, what);
                    } else {
                        KernelPairs.assertClose(dg, dc, dt, what);
                    }
                }
            }
        }
    }

    @Test
    void badIndicesThrowNamingTheOpAndLeaveIndexAddUntouched() {
        // Index checks are read at the device's next host synchronization (DeviceIndexErrors).
        Runnable sync = () -> dev.panomni.kernels.runtime.CudaRuntime.device(0).synchronize();
        Tensor src = toGpu(CudaTestSupport.random(DType.F32, 1, -1, 1, 4, 6));
        Tensor bad = toGpu(Tensor.ofLongs(new long[] {0, 3, 9, 1}, 4));
        TensorOpException e = assertThrows(TensorOpException.class, () -> {
            gpu(IndexingKernels.class).indexSelect(src, 0, bad, poisoned(DType.F32, CUDA, 4, 6));
            sync.run();
        });
        assertTrue(e.getMessage().contains("indexSelect") && e.getMessage().contains("index 9"), e.getMessage());
        Tensor dst = toGpu(CudaTestSupport.random(DType.F32, 2, -1, 1, 4, 6));
        float[] before = dst.toFloatArray();
        e = assertThrows(TensorOpException.class, () -> {
            gpu(IndexingKernels.class).indexAdd(dst, 0, bad, src);
            sync.run();
        });
        assertTrue(e.getMessage().contains("indexAdd") && e.getMessage().contains("index 9"), e.getMessage());
        assertArrayEquals(before, dst.toFloatArray(), "indexAdd with a bad index changed dst");
        Tensor idx2 = toGpu(Tensor.ofLongs(new long[] {0, 1, -1, 2, 0, 1}, 1, 6));
        e = assertThrows(TensorOpException.class, () -> {
            gpu(IndexingKernels.class).gather(src, 0, idx2, poisoned(DType.F32, CUDA, 1, 6));
            sync.run();
        });
        assertTrue(e.getMessage().contains("gather") && e.getMessage().contains("index -1"), e.getMessage());
        // A copy to the host is a synchronization too: the error surfaces there, and only once.
        Tensor out = poisoned(DType.F32, CUDA, 4, 6);
        gpu(IndexingKernels.class).indexSelect(src, 0, bad, out);
        e = assertThrows(TensorOpException.class, out::toFloatArray);
        assertTrue(e.getMessage().contains("indexSelect") && e.getMessage().contains("index 9"), e.getMessage());
        sync.run();
    }

    @Test
    void embeddingForwardAndDeterministicBackward() {
        long seed = 400;
        for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            for (long[] vdn : new long[][] {{50, 16, 7}, {1000, 64, 3000}, {32_000, 1024, 4096}, {17, 3, 100},
                {5, 8, 1}}) {
                for (DType it : new DType[] {DType.I64, DType.I32}) {
                    try (Scope s = Scope.open("embedding")) {
                        long v = vdn[0];
                        long d = vdn[1];
                        long n = vdn[2];
                        String what = "embedding " + dt + " " + it + " V=" + v + " D=" + d + " N=" + n;
                        Tensor weight = CudaTestSupport.random(dt, seed++, -1, 1, v, d);
                        // skewed ids: a few hot rows (long runs after sorting) and many cold ones
                        SplittableRandom r = new SplittableRandom(seed++);
                        long[] ids = new long[(int) n];
                        for (int i = 0; i < n; i++) {
                            ids[i] = r.nextDouble() < 0.5 ? r.nextLong(Math.min(v, 4)) : r.nextLong(v);
                        }
                        Tensor idsHost = it == DType.I64 ? Tensor.ofLongs(ids, n) : Tensor.ofLongs(ids, n).to(DType.I32);
                        Tensor og = poisoned(dt, CUDA, n, d);
                        Tensor oc = Tensor.empty(dt, Device.CPU, n, d);
                        gpu(EmbeddingKernels.class).embeddingForward(toGpu(weight), toGpu(idsHost), og);
                        cpu(EmbeddingKernels.class).embeddingForward(weight, idsHost, oc);
                        assertSame(og, oc, what + " forward");

                        Tensor dout = CudaTestSupport.random(dt, seed++, -1, 1, n, d);
                        Tensor dwg = Tensor.zeros(DType.F32, CUDA, v, d);
                        Tensor dwc = Tensor.zeros(DType.F32, Device.CPU, v, d);
                        gpu(EmbeddingKernels.class).embeddingBackward(toGpu(dout), toGpu(idsHost), dwg);
                        cpu(EmbeddingKernels.class).embeddingBackward(KernelPairs.f32(dout), idsHost, dwc);
                        // Same additions in the same (token) order: the same bits.
                        assertSame(dwg, dwc, what + " backward");
                    }
                }
            }
        }
    }

    @Test
    void embeddingRejectsOutOfRangeIds() {
        Tensor weight = toGpu(CudaTestSupport.random(DType.F32, 1, -1, 1, 10, 4));
        Tensor ids = toGpu(Tensor.ofLongs(new long[] {1, 2, 10, 3}, 4));
        TensorOpException e = assertThrows(TensorOpException.class,
                () -> gpu(EmbeddingKernels.class).embeddingForward(weight, ids, poisoned(DType.F32, CUDA, 4, 4)));
        assertTrue(e.getMessage().contains("embedding") && e.getMessage().contains("id 10")
                && e.getMessage().contains("V=10"), e.getMessage());
    }

    @Test
    void whereBroadcastsAnyDtype() {
        long seed = 500;
        for (DType dt : MOVED) {
            try (Scope s = Scope.open("where")) {
                long[] shape = {6, 7, 9};
                Tensor cond = CudaTestSupport.random(DType.BOOL, seed++, 0, 2, 6, 1, 9);
                Tensor a = data(dt, seed++, 7, 9);
                Tensor b = data(dt, seed++, 1);   // a scalar fill value, as maskedFill passes it
                long[] cs = Shapes.broadcastStrides(cond.shape(), cond.strides(), shape);
                long[] as = Shapes.broadcastStrides(a.shape(), a.strides(), shape);
                long[] bs = Shapes.broadcastStrides(b.shape(), b.strides(), shape);
                Tensor og = poisoned(dt, CUDA, shape);
                Tensor oc = Tensor.empty(dt, Device.CPU, shape);
                Tensor cg = toGpu(cond);
                Tensor ag = toGpu(a);
                Tensor bg = toGpu(b);
                gpu(SelectionKernels.class).where(cg.restrided(shape, cs, 0), ag.restrided(shape, as, 0),
                        bg.restrided(shape, bs, 0), og);
                cpu(SelectionKernels.class).where(cond.restrided(shape, cs, 0), a.restrided(shape, as, 0),
                        b.restrided(shape, bs, 0), oc);
                assertSame(og, oc, "where " + dt);
            }
        }
    }
}
