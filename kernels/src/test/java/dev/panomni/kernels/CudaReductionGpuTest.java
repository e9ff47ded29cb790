package dev.panomni.kernels;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.ReductionKernels;
import dev.panomni.tensor.ops.TopKKernels;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static dev.panomni.kernels.CudaTestSupport.CUDA;
import static dev.panomni.kernels.CudaTestSupport.poisoned;
import static dev.panomni.kernels.KernelPairs.Input;
import static dev.panomni.kernels.KernelPairs.assertClose;
import static dev.panomni.kernels.KernelPairs.cpu;
import static dev.panomni.kernels.KernelPairs.gpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** CUDA sums, maxima and top-k against the CPU backend. */
@Tag("gpu")
class CudaReductionGpuTest {
    private static final DType[] FLOATS = {DType.F32, DType.BF16, DType.F16};

    @BeforeEach
    void requireGpu() {
        CudaTestSupport.assumeGpu();
    }

    private static long[] reducedShape(long[] shape, boolean[] reduce) {
        long[] out = shape.clone();
        for (int d = 0; d < shape.length; d++) {
            if (reduce[d]) {
                out[d] = 1;
            }
        }
        return out;
    }

    @Test
    void sumOverEveryPatternOfDims() {
        long[][] shapes = {{7}, {1}, {3, 5}, {4, 1, 6}, {5, 7, 9}, {2, 3, 4, 5}, {130, 300}, {3, 70_000}, {70_000, 3},
            {1_000_003}, {4, 0, 3}, {257, 2, 513}};
        long seed = 1;
        for (DType dt : FLOATS) {
            for (long[] shape : shapes) {
                int r = shape.length;
                for (int mask = 0; mask < (1 << r); mask++) {
                    boolean[] reduce = new boolean[r];
                    for (int d = 0; d < r; d++) {
                        reduce[d] = (mask & (1 << d)) != 0;
                    }
                    try (Scope s = Scope.open("sum")) {
                        long[] os = reducedShape(shape, reduce);
                        String what = "sum " + dt + " " + Shapes.str(shape) + " reduce " + Arrays.toString(reduce);
                        Input x = KernelPairs.uniform(dt, seed++, -1, 1, shape);
                        double scale = mask % 2 == 0 ? 1.0 : 0.37;
                        Tensor og = poisoned(dt, CUDA, os);
                        Tensor oc = Tensor.empty(DType.F32, Device.CPU, os);
                        gpu(ReductionKernels.class).sum(x.gpu(), reduce, scale, og);
                        cpu(ReductionKernels.class).sum(x.cpu(), reduce, scale, oc);
                        // Sums of many terms of mixed sign: compare against the F32 reference loosely for
                        // 16-bit outputs (one rounding of the result), tightly for F32.
                        assertClose(og, oc, dt, what);
                        Tensor again = poisoned(dt, CUDA, os);
                        gpu(ReductionKernels.class).sum(x.gpu(), reduce, scale, again);
                        assertArrayEquals(og.toFloatArray(), again.toFloatArray(), what + " run to run");
                    }
                }
            }
        }
    }

    @Test
    void maxArgmaxAndBackward() {
        long[][] shapes = {{7}, {3, 5}, {5, 7, 9}, {4, 1000}, {2, 151_936}, {1000, 3}, {6, 300, 5}};
        long seed = 500;
        for (DType dt : FLOATS) {
            for (long[] shape : shapes) {
                for (int dim = 0; dim < shape.length; dim++) {
                    try (Scope s = Scope.open("max")) {
                        long[] os = shape.clone();
                        os[dim] = 1;
                        String what = "max " + dt + " " + Shapes.str(shape) + " dim " + dim;
                        // few distinct values: ties, whose first index must win
                        Tensor host = CudaTestSupport.random(DType.I64, seed++, -20, 20, shape).to(dt);
                        Input x = Input.of(host);
                        Tensor vg = poisoned(dt, CUDA, os);
                        Tensor ig = poisoned(DType.I64, CUDA, os);
                        Tensor vc = Tensor.empty(DType.F32, Device.CPU, os);
                        Tensor ic = Tensor.empty(DType.I64, Device.CPU, os);
                        gpu(ReductionKernels.class).max(x.gpu(), dim, vg, ig);
                        cpu(ReductionKernels.class).max(x.cpu(), dim, vc, ic);
                        assertClose(vg, vc, dt, what + " values");
                        CudaTestSupport.assertSameLongs(CudaTestSupport.toCpu(ig), ic, what + " indices");
                        Tensor only = poisoned(DType.I64, CUDA, os);
                        gpu(ReductionKernels.class).max(x.gpu(), dim, null, only);
                        CudaTestSupport.assertSameLongs(CudaTestSupport.toCpu(only), ic, what + " indices alone");

                        Input g = KernelPairs.uniform(dt, seed++, -1, 1, os);
                        Tensor gig = poisoned(dt, CUDA, shape);
                        Tensor gic = Tensor.empty(DType.F32, Device.CPU, shape);
                        gpu(ReductionKernels.class).maxBackward(g.gpu(), ig, dim, gig);
                        cpu(ReductionKernels.class).maxBackward(g.cpu(), ic, dim, gic);
                        assertClose(gig, gic, dt, what + " backward");
                    }
                }
            }
        }
    }

    @Test
    void maxTreatsNanAsLargest() {
        float nan = Float.NaN;
        Tensor host = Tensor.of(new float[] {1, nan, 5, nan, 2, 3, 9, 9, -1, -2, -3, -4}, 3, 4);
        Tensor ig = poisoned(DType.I64, CUDA, 3, 1);
        Tensor ic = Tensor.empty(DType.I64, Device.CPU, 3, 1);
        gpu(ReductionKernels.class).max(CudaTestSupport.toGpu(host), 1, null, ig);
        cpu(ReductionKernels.class).max(host, 1, null, ic);
        CudaTestSupport.assertSameLongs(CudaTestSupport.toCpu(ig), ic, "max with NaN");
    }

    @Test
    void topkLargestSortedTiesByIndex() {
        long[][] shapes = {{10}, {3, 64}, {1000, 128}, {4, 5000}, {2, 151_936}, {7, 9, 3}, {3, 2049}};
        int[] ks = {0, 1, 2, 8, 50, 3000};
        long seed = 900;
        for (DType dt : FLOATS) {
            for (long[] shape : shapes) {
                for (int dim = 0; dim < shape.length; dim++) {
                    for (int k : ks) {
                        if (k > shape[dim]) {
                            continue;
                        }
                        try (Scope s = Scope.open("topk")) {
                            long[] os = shape.clone();
                            os[dim] = k;
                            String what = "topk " + dt + " " + Shapes.str(shape) + " dim " + dim + " k " + k;
                            // a coarse grid of values: many ties
                            Tensor host = CudaTestSupport.random(DType.I64, seed++, -500, 500, shape).to(dt);
                            Input x = Input.of(host);
                            Tensor vg = poisoned(dt, CUDA, os);
                            Tensor ig = poisoned(DType.I64, CUDA, os);
                            Tensor vc = Tensor.empty(DType.F32, Device.CPU, os);
                            Tensor ic = Tensor.empty(DType.I64, Device.CPU, os);
                            gpu(TopKKernels.class).topk(x.gpu(), dim, k, vg, ig);
                            cpu(TopKKernels.class).topk(x.cpu(), dim, k, vc, ic);
                            if (k > 0) {
                                CudaTestSupport.assertClose(KernelPairs.back(vg), vc, 0.0, what + " values");
                            }
                            CudaTestSupport.assertSameLongs(CudaTestSupport.toCpu(ig), ic, what + " indices");
                        }
                    }
                }
            }
        }
    }

    @Test
    void topkOrdersNanFirstAndNegativeZeroAsZero() {
        float nan = Float.NaN;
        Tensor host = Tensor.of(new float[] {-0.0f, 0.0f, nan, 3, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, nan,
            -1}, 8);
        Tensor vg = poisoned(DType.F32, CUDA, 8);
        Tensor ig = poisoned(DType.I64, CUDA, 8);
        Tensor vc = Tensor.empty(DType.F32, Device.CPU, 8);
        Tensor ic = Tensor.empty(DType.I64, Device.CPU, 8);
        gpu(TopKKernels.class).topk(CudaTestSupport.toGpu(host), 0, 8, vg, ig);
        cpu(TopKKernels.class).topk(host, 0, 8, vc, ic);
        CudaTestSupport.assertSameLongs(CudaTestSupport.toCpu(ig), ic, "topk special values");
    }
}
