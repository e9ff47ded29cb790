package dev.panomni.tensor.ops;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;

import java.util.List;

/**
 * Joining tensors along a dim and splitting them apart, forward and backward side by side. Concat
 * and stack copy their inputs into windows of one new tensor (through {@link Layout#copyInto}, so
 * any strides and every dtype work); split returns views that share the input's storage.
 */
public final class Joining {
    private Joining() {
    }

    /** {@link #concat(Tensor[], int)} over a list. */
    public static Tensor concat(List<Tensor> tensors, int dim) {
        if (tensors == null) {
            throw new TensorOpException("concat", "needs at least one tensor, got null");
        }
        return concat(tensors.toArray(new Tensor[0]), dim);
    }

    /**
     * The tensors joined end to end along {@code dim} (negative counts from the end). All must have
     * one dtype, one device and one rank (at least 1), and equal extents on every other dim:
     * {@code [a, n1, c], [a, n2, c] -> [a, n1 + n2, c]} for dim 1. The result is a new contiguous
     * tensor; its gradient is split back into slices for the inputs.
     */
    public static Tensor concat(Tensor[] tensors, int dim) {
        String op = "concat";
        checkNonEmpty(op, tensors);
        OpChecks.sameDeviceAndDtype(op, tensors);
        Tensor first = tensors[0];
        if (first.rank() == 0) {
            throw new TensorOpException(op, "cannot concatenate zero-dimensional tensors (shape []); "
                    + "use stack, or unsqueeze them first");
        }
        int d = Shapes.dim(op, dim, first.rank());
        long[] outShape = first.shape();
        long[] offsets = new long[tensors.length];
        long total = 0;
        for (int i = 0; i < tensors.length; i++) {
            long[] s = tensors[i].shape();
            if (!sameExceptDim(s, first.shape(), d)) {
                throw new TensorOpException(op, "tensor " + i + " has shape " + Shapes.str(s) + " but tensor 0 has "
                        + Shapes.str(first.shape()) + "; all dims but dim " + d + " must match");
            }
            offsets[i] = total;
            total += s[d];
        }
        outShape[d] = total;
        Tensor out = Tensor.empty(first.dtype(), first.device(), outShape);
        GradMode.noGrad(() -> {
            try (Scope s = Scope.open(op)) {
                for (int i = 0; i < tensors.length; i++) {
                    Layout.copyInto(tensors[i], window(out, d, offsets[i], tensors[i].size(d), false));
                }
            }
        });
        if (Autograd.needsRecord(tensors)) {
            long[] sizes = new long[tensors.length];
            for (int i = 0; i < tensors.length; i++) {
                sizes[i] = tensors[i].size(d);
            }
            Autograd.record(new Node(op, tensors) {
                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor[] grads = new Tensor[sizes.length];
                    for (int i = 0; i < sizes.length; i++) {
                        if (needsGrad(i)) {
                            grads[i] = Views.contiguous(Views.narrow(g[0], d, offsets[i], sizes[i]));
                        }
                    }
                    return grads;
                }
            }, out);
        }
        return out;
    }

    /**
     * Views of consecutive pieces of {@code t} along {@code dim} with extents {@code sizes} (which
     * must be non-negative and add up to {@code t.size(dim)}). The pieces share t's storage; their
     * gradients are concatenated back into t's gradient in one step (pieces that get no gradient
     * contribute zeros).
     */
    public static Tensor[] split(Tensor t, long[] sizes, int dim) {
        String op = "split";
        t.checkLive();
        if (t.rank() == 0) {
            throw new TensorOpException(op, "cannot split a zero-dimensional tensor (shape [])");
        }
        int d = Shapes.dim(op, dim, t.rank());
        if (sizes == null || sizes.length == 0) {
            throw new TensorOpException(op, "needs at least one piece size, got none");
        }
        long total = 0;
        for (long n : sizes) {
            if (n < 0) {
                throw new TensorOpException(op, "piece sizes must be >= 0, got " + java.util.Arrays.toString(sizes));
            }
            total += n;
        }
        if (total != t.size(d)) {
            throw new TensorOpException(op, "piece sizes " + java.util.Arrays.toString(sizes) + " add up to " + total
                    + " but dim " + d + " of shape " + Shapes.str(t.shape()) + " has size " + t.size(d));
        }
        Tensor[] pieces = new Tensor[sizes.length];
        long start = 0;
        for (int i = 0; i < sizes.length; i++) {
            // restrided views, not Views.narrow: one multi-output record below instead of one per piece.
            pieces[i] = window(t, d, start, sizes[i], false);
            start += sizes[i];
        }
        if (Autograd.needsRecord(t)) {
            Autograd.record(new Node(op, sizes.length, t) {
                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {concat(g, d)};
                }
            }, pieces);
        }
        return pieces;
    }

    /** {@link #stack(Tensor[], int)} over a list. */
    public static Tensor stack(List<Tensor> tensors, int dim) {
        if (tensors == null) {
            throw new TensorOpException("stack", "needs at least one tensor, got null");
        }
        return stack(tensors.toArray(new Tensor[0]), dim);
    }

    /**
     * The tensors (all of one shape, dtype and device) stacked along a new dim {@code dim}, which
     * may range over {@code -(rank+1) .. rank}: k tensors {@code [a, b]} stacked at dim 1 give
     * {@code [a, k, b]}. The gradient of input i is slice i of the output's gradient.
     */
    public static Tensor stack(Tensor[] tensors, int dim) {
        String op = "stack";
        checkNonEmpty(op, tensors);
        OpChecks.sameDeviceAndDtype(op, tensors);
        Tensor first = tensors[0];
        long[] inShape = first.shape();
        int d = Shapes.dim(op, dim, inShape.length + 1);
        for (int i = 1; i < tensors.length; i++) {
            if (!java.util.Arrays.equals(tensors[i].shape(), inShape)) {
                throw new TensorOpException(op, "tensor " + i + " has shape " + Shapes.str(tensors[i].shape())
                        + " but tensor 0 has " + Shapes.str(inShape) + "; all shapes must be equal");
            }
        }
        long[] outShape = new long[inShape.length + 1];
        for (int i = 0, k = 0; i < outShape.length; i++) {
            outShape[i] = i == d ? tensors.length : inShape[k++];
        }
        Tensor out = Tensor.empty(first.dtype(), first.device(), outShape);
        GradMode.noGrad(() -> {
            try (Scope s = Scope.open(op)) {
                for (int i = 0; i < tensors.length; i++) {
                    Layout.copyInto(tensors[i], window(out, d, i, 1, true));
                }
            }
        });
        if (Autograd.needsRecord(tensors)) {
            int k = tensors.length;
            Autograd.record(new Node(op, tensors) {
                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor[] grads = new Tensor[k];
                    for (int i = 0; i < k; i++) {
                        if (needsGrad(i)) {
                            grads[i] = Views.contiguous(window(g[0], d, i, 1, true));
                        }
                    }
                    return grads;
                }
            }, out);
        }
        return out;
    }

    /**
     * An unrecorded view of {@code t}: elements {@code start .. start+length-1} along {@code d}, with
     * that dim removed when {@code drop} (then length must be 1).
     */
    private static Tensor window(Tensor t, int d, long start, long length, boolean drop) {
        long[] shape = t.shape();
        long[] strides = t.strides();
        long offset = t.offset() + start * strides[d];
        if (!drop) {
            shape[d] = length;
            return t.restrided(shape, strides, offset);
        }
        long[] ns = new long[shape.length - 1];
        long[] nst = new long[shape.length - 1];
        for (int i = 0, k = 0; i < shape.length; i++) {
            if (i != d) {
                ns[k] = shape[i];
                nst[k++] = strides[i];
            }
        }
        return t.restrided(ns, nst, offset);
    }

    private static boolean sameExceptDim(long[] a, long[] b, int d) {
        if (a.length != b.length) {
            return false;
        }
        for (int i = 0; i < a.length; i++) {
            if (i != d && a[i] != b[i]) {
                return false;
            }
        }
        return true;
    }

    private static void checkNonEmpty(String op, Tensor[] tensors) {
        if (tensors == null || tensors.length == 0) {
            throw new TensorOpException(op, "needs at least one tensor, got none");
        }
        for (int i = 0; i < tensors.length; i++) {
            if (tensors[i] == null) {
                throw new TensorOpException(op, "tensor " + i + " is null");
            }
        }
    }
}
