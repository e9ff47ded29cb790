package dev.panomni.tensor.cpu;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.SoftmaxKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.panomni.tensor.cpu.VectorMath.L;
import static dev.panomni.tensor.cpu.VectorMath.load;
import static dev.panomni.tensor.cpu.VectorMath.mask;
import static dev.panomni.tensor.cpu.VectorMath.store;

/** CPU softmax over rows: vectorized within a row (sums in float64), rows spread over cores. */
final class CpuSoftmaxKernels implements SoftmaxKernels {
    private static final long GRAIN = 1 << 14;

    @Override
    public void forward(Tensor x, boolean log, Tensor y) {
        VectorMath.requireContiguousF32(log ? "logSoftmax" : "softmax", x, y);
        long[] shape = x.shape();
        long n = shape.length == 0 ? 1 : shape[shape.length - 1];
        if (n == 0) {
            return;
        }
        long rows = x.numel() / n;
        MemorySegment xs = x.storage().segment();
        MemorySegment ys = y.storage().segment();
        long xo = x.offset();
        long yo = y.offset();
        CpuParallel.forRange(rows, Math.max(1, GRAIN / n), (s, e) -> {
            for (long r = s; r < e; r++) {
                long xr = xo + r * n;
                long yr = yo + r * n;
                float max = VectorMath.max(xs, xr, n);
                if (log) {
                    // (x - max) - log(sum) keeps the precision that x - (max + log(sum)) loses for large max
                    float logSum = (float) Math.log(VectorMath.sumExp(xs, xr, n, max));
                    for (long k = 0; k < n; k += L) {
                        VectorMask<Float> m = mask(k, n);
                        store(load(xs, xr + k, m).sub(max).sub(logSum), ys, yr + k, m);
                    }
                } else {
                    float inv = (float) (1.0 / VectorMath.expShiftInto(xs, xr, ys, yr, n, max));
                    for (long k = 0; k < n; k += L) {
                        VectorMask<Float> m = mask(k, n);
                        store(load(ys, yr + k, m).mul(inv), ys, yr + k, m);
                    }
                }
            }
        });
    }

    @Override
    public void backward(Tensor y, Tensor gradOut, boolean log, Tensor gradIn) {
        VectorMath.requireContiguousF32(log ? "logSoftmax backward" : "softmax backward", y, gradOut, gradIn);
        long[] shape = y.shape();
        long n = shape.length == 0 ? 1 : shape[shape.length - 1];
        if (n == 0) {
            return;
        }
        long rows = y.numel() / n;
        MemorySegment ys = y.storage().segment();
        MemorySegment gs = gradOut.storage().segment();
        MemorySegment is = gradIn.storage().segment();
        long yo = y.offset();
        long go = gradOut.offset();
        long io = gradIn.offset();
        CpuParallel.forRange(rows, Math.max(1, GRAIN / n), (s, e) -> {
            for (long r = s; r < e; r++) {
                long yr = yo + r * n;
                long gr = go + r * n;
                long ir = io + r * n;
                if (log) {
                    float sumG = (float) VectorMath.sum(gs, gr, n);
                    for (long k = 0; k < n; k += L) {
                        VectorMask<Float> m = mask(k, n);
                        FloatVector p = load(ys, yr + k, m).lanewise(VectorOperators.EXP);
                        store(load(gs, gr + k, m).sub(p.mul(sumG)), is, ir + k, m);
                    }
                } else {
                    float dot = (float) VectorMath.dot(gs, gr, ys, yr, n);
                    for (long k = 0; k < n; k += L) {
                        VectorMask<Float> m = mask(k, n);
                        FloatVector yv = load(ys, yr + k, m);
                        store(load(gs, gr + k, m).sub(dot).mul(yv), is, ir + k, m);
                    }
                }
            }
        });
    }
}
