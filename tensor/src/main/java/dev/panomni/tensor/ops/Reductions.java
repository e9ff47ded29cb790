package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;

import java.util.Arrays;

/**
 * Sums, means and maxima over dims of floating tensors, forward and backward side by side. Sums
 * are accumulated deterministically (the CPU backend accumulates in float64 with a split that
 * depends only on the shapes), so a result is the same on every run, whatever the thread count.
 * Results have the input's dtype (BF16 and F16 are computed in F32 where the backend does not
 * compute them natively).
 */
public final class Reductions {
    private Reductions() {
    }

    static ReductionKernels kernels(Tensor t) {
        return t.backend().kernels(ReductionKernels.class);
    }

    /**
     * Sum over {@code dims} (negative dims count from the end; no dims means no reduction). With
     * {@code keepDim} the reduced dims stay as extent 1, else they are removed: [2, 3, 4] summed
     * over {1} is [2, 4], or [2, 1, 4] with keepDim. A sum over no elements is 0.
     */
    public static Tensor sum(Tensor t, int[] dims, boolean keepDim) {
        return reduce("sum", t, dims, keepDim, false);
    }

    /** Mean over {@code dims}, shaped as {@link #sum}; the mean over no elements is NaN. */
    public static Tensor mean(Tensor t, int[] dims, boolean keepDim) {
        return reduce("mean", t, dims, keepDim, true);
    }

    /** Sum of all elements as a 0-dim tensor. */
    public static Tensor sumAll(Tensor t) {
        return reduce("sumAll", t, allDims(t), false, false);
    }

    /** Mean of all elements as a 0-dim tensor (NaN for an empty tensor). */
    public static Tensor meanAll(Tensor t) {
        return reduce("meanAll", t, allDims(t), false, true);
    }

    private static int[] allDims(Tensor t) {
        int[] d = new int[t.rank()];
        for (int i = 0; i < d.length; i++) {
            d[i] = i;
        }
        return d;
    }

    private static Tensor reduce(String op, Tensor t, int[] dims, boolean keepDim, boolean mean) {
        t.checkLive();
        OpChecks.floating(op, t);
        long[] shape = t.shape();
        boolean[] reduced = reducedDims(op, dims, shape);
        long[] keepShape = shape.clone();
        long count = 1;
        for (int d = 0; d < shape.length; d++) {
            if (reduced[d]) {
                count *= shape[d];
                keepShape[d] = 1;
            }
        }
        long[] outShape = keepDim ? keepShape : dropReduced(shape, reduced);
        double scale = mean ? 1.0 / count : 1.0;
        Tensor kept = Precision.compute(t.backend(), t.dtype(), keepShape, (wx, o) -> {
            try (Scope s = Scope.open(op)) {
                kernels(o).sum(Views.contiguous(wx), reduced, scale, o);
            }
        }, t);
        Tensor out = reshaped(kept, outShape);
        if (Autograd.needsRecord(t)) {
            Autograd.record(new Node(op, t) {
                @Override
                protected Tensor[] backward(Tensor[] g) {
                    // d(sum)/dx = 1 and d(mean)/dx = 1/count at every element of the reduced slice.
                    Tensor gk = Views.reshape(g[0], keepShape);
                    if (mean) {
                        gk = Arith.mulScalar(gk, scale);
                    }
                    return new Tensor[] {Views.contiguous(Views.expand(gk, shape))};
                }
            }, out);
        }
        return out;
    }

    /**
     * Maximum along {@code dim}, the dim removed unless {@code keepDim}. A slice holding NaN has
     * maximum NaN. The gradient flows to the first position of each maximum only.
     */
    public static Tensor max(Tensor t, int dim, boolean keepDim) {
        String op = "max";
        t.checkLive();
        OpChecks.floating(op, t);
        long[] shape = t.shape();
        int d = nonEmptyDimOf(op, dim, shape);
        long[] keepShape = keepShape(shape, d);
        long[] outShape = keepDim ? keepShape : dropDim(shape, d);
        boolean record = Autograd.needsRecord(t);
        Tensor values;
        Tensor indices;
        try (Scope s = Scope.open(op)) {
            Tensor[] vi = GradMode.noGrad(() -> {
                Tensor w = Views.contiguous(Precision.widen(t));
                Tensor v = Tensor.empty(w.dtype(), t.device(), keepShape);
                Tensor i = record ? Tensor.empty(DType.I64, t.device(), keepShape) : null;
                kernels(t).max(w, d, v, i);
                return new Tensor[] {Layout.cast(v, t.dtype()), i};
            });
            values = s.keep(reshaped(vi[0], outShape));
            indices = record ? s.keep(vi[1]) : null;
        }
        if (record) {
            DType dtype = t.dtype();
            Autograd.record(new Node(op, t) {
                final Tensor argmax = save(indices);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor gk = Views.reshape(g[0], keepShape);
                    Tensor gi = Precision.compute(t.backend(), dtype, shape, (wg, o) -> {
                        try (Scope s = Scope.open("maxBackward")) {
                            kernels(o).maxBackward(Views.contiguous(wg), argmax, d, o);
                        }
                    }, gk);
                    return new Tensor[] {gi};
                }
            }, values);
            indices.close();
        }
        return values;
    }

    /**
     * Index (I64) of the first maximum along {@code dim}, the dim removed unless {@code keepDim};
     * NaN counts as the maximum. Not differentiable.
     */
    public static Tensor argmax(Tensor t, int dim, boolean keepDim) {
        String op = "argmax";
        t.checkLive();
        OpChecks.floating(op, t);
        long[] shape = t.shape();
        int d = nonEmptyDimOf(op, dim, shape);
        long[] keepShape = keepShape(shape, d);
        long[] outShape = keepDim ? keepShape : dropDim(shape, d);
        Tensor indices = Tensor.empty(DType.I64, t.device(), keepShape);
        try (Scope s = Scope.open(op)) {
            GradMode.noGrad(() -> kernels(t).max(Views.contiguous(Precision.widen(t)), d, null, indices));
        }
        return reshaped(indices, outShape);
    }

    // ------------------------------------------------------------------ shapes

    /** Which dims {@code dims} names, normalized; rejects out-of-range and repeated dims. */
    private static boolean[] reducedDims(String op, int[] dims, long[] shape) {
        if (dims == null) {
            throw new TensorOpException(op, "dims must not be null (shape " + Shapes.str(shape)
                    + "); pass an empty array for no reduction, or use sumAll/meanAll");
        }
        boolean[] reduced = new boolean[shape.length];
        for (int dim : dims) {
            int d = dimOf(op, dim, shape);
            if (reduced[d]) {
                throw new TensorOpException(op, "dim " + dim + " appears twice in dims " + Arrays.toString(dims)
                        + " for shape " + Shapes.str(shape));
            }
            reduced[d] = true;
        }
        return reduced;
    }

    /** {@code dim} normalized into [0, rank), or an error naming the shape. */
    private static int dimOf(String op, int dim, long[] shape) {
        int r = shape.length;
        int d = dim < 0 ? dim + r : dim;
        if (d < 0 || d >= r) {
            throw new TensorOpException(op, "dim " + dim + " is out of range for shape " + Shapes.str(shape)
                    + (r == 0 ? " (a 0-dim tensor has no dims)" : " (allowed: " + -r + ".." + (r - 1) + ")"));
        }
        return d;
    }

    /** {@link #dimOf} for max and argmax, which also need the dim to be non-empty. */
    private static int nonEmptyDimOf(String op, int dim, long[] shape) {
        int d = dimOf(op, dim, shape);
        if (shape[d] == 0) {
            throw new TensorOpException(op, "dim " + dim + " of shape " + Shapes.str(shape)
                    + " is empty; the maximum of no elements is undefined");
        }
        return d;
    }

    private static long[] keepShape(long[] shape, int d) {
        long[] k = shape.clone();
        k[d] = 1;
        return k;
    }

    private static long[] dropDim(long[] shape, int d) {
        boolean[] r = new boolean[shape.length];
        r[d] = true;
        return dropReduced(shape, r);
    }

    private static long[] dropReduced(long[] shape, boolean[] reduced) {
        int n = 0;
        for (boolean b : reduced) {
            n += b ? 0 : 1;
        }
        long[] out = new long[n];
        for (int i = 0, k = 0; i < shape.length; i++) {
            if (!reduced[i]) {
                out[k++] = shape[i];
            }
        }
        return out;
    }

    /** {@code t} (contiguous, fresh, unrecorded) seen as {@code shape}; the old handle is released. */
    private static Tensor reshaped(Tensor t, long[] shape) {
        if (Arrays.equals(t.shape(), shape)) {
            return t;
        }
        Tensor v = t.restrided(shape, Shapes.contiguousStrides(shape), t.offset());
        t.close();
        return v;
    }
}
