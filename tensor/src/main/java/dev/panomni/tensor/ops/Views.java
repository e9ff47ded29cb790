package dev.panomni.tensor.ops;

import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.Node;

/**
 * Views share their input's storage; only {@link #contiguous} and a {@link #reshape} of a
 * non-viewable layout copy. Each records its backward, which maps the gradient back to the input's
 * shape.
 */
public final class Views {
    private Views() {
    }

    /** {@code t} seen with shape {@code newShape} (one -1 inferred); fails when a copy would be needed. */
    public static Tensor view(Tensor t, long... newShape) {
        t.checkLive();
        long[] shape = Shapes.inferReshape("view", t.shape(), newShape);
        long[] strides = Shapes.viewStrides(t.shape(), t.strides(), shape);
        if (strides == null) {
            throw new TensorOpException("view", "cannot view " + Shapes.str(t.shape()) + " with strides "
                    + Shapes.str(t.strides()) + " as " + Shapes.str(shape) + " without a copy; use reshape()");
        }
        return record(t, t.restrided(shape, strides, t.offset()), "view");
    }

    /** Like {@link #view} but copies when the layout does not allow a view. */
    public static Tensor reshape(Tensor t, long... newShape) {
        t.checkLive();
        long[] shape = Shapes.inferReshape("reshape", t.shape(), newShape);
        long[] strides = Shapes.viewStrides(t.shape(), t.strides(), shape);
        if (strides != null) {
            return record(t, t.restrided(shape, strides, t.offset()), "reshape");
        }
        Tensor c = contiguous(t);
        return view(c, shape);
    }

    private static Tensor record(Tensor in, Tensor out, String op) {
        if (Autograd.needsRecord(in)) {
            long[] inShape = in.shape();
            Autograd.record(new Node(op, in) {
                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {reshape(g[0], inShape)};
                }
            }, out);
        }
        return out;
    }

    public static Tensor transpose(Tensor t, int d0, int d1) {
        int r = t.rank();
        int a = Shapes.dim("transpose", d0, r);
        int b = Shapes.dim("transpose", d1, r);
        int[] perm = new int[r];
        for (int i = 0; i < r; i++) {
            perm[i] = i;
        }
        perm[a] = b;
        perm[b] = a;
        return permute(t, perm);
    }

    /** Dims reordered: output dim i is input dim {@code dims[i]}. */
    public static Tensor permute(Tensor t, int... dims) {
        t.checkLive();
        int r = t.rank();
        if (dims.length != r) {
            throw new TensorOpException("permute", "got " + dims.length + " dims for a tensor of shape " + Shapes.str(t.shape()));
        }
        long[] shape = t.shape();
        long[] strides = t.strides();
        long[] ns = new long[r];
        long[] nst = new long[r];
        boolean[] used = new boolean[r];
        int[] inverse = new int[r];
        for (int i = 0; i < r; i++) {
            int d = Shapes.dim("permute", dims[i], r);
            if (used[d]) {
                throw new TensorOpException("permute", "dim " + d + " repeated in " + java.util.Arrays.toString(dims));
            }
            used[d] = true;
            ns[i] = shape[d];
            nst[i] = strides[d];
            inverse[d] = i;
        }
        Tensor out = t.restrided(ns, nst, t.offset());
        if (Autograd.needsRecord(t)) {
            Autograd.record(new Node("permute", t) {
                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {permute(g[0], inverse)};
                }
            }, out);
        }
        return out;
    }

    /** Elements {@code start .. start+length-1} along {@code dim}. */
    public static Tensor narrow(Tensor t, int dim, long start, long length) {
        return slice(t, dim, start, start + length, 1);
    }

    /** Every {@code step}-th element from {@code start} (inclusive) to {@code end} (exclusive) along dim. */
    public static Tensor slice(Tensor t, int dim, long start, long end, long step) {
        t.checkLive();
        int d = Shapes.dim("slice", dim, t.rank());
        long[] shape = t.shape();
        long n = shape[d];
        if (step <= 0) {
            throw new TensorOpException("slice", "step must be positive, got " + step);
        }
        if (start < 0 || end > n || start > end) {
            throw new TensorOpException("slice", "range [" + start + ", " + end + ") out of bounds for dim " + d
                    + " of shape " + Shapes.str(shape));
        }
        long[] strides = t.strides();
        long[] ns = shape.clone();
        long[] nst = strides.clone();
        ns[d] = (end - start + step - 1) / step;
        nst[d] = strides[d] * step;
        Tensor out = t.restrided(ns, nst, t.offset() + start * strides[d]);
        if (Autograd.needsRecord(t)) {
            Autograd.record(new Node("slice", t) {
                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor full = Tensor.zeros(g[0].dtype(), g[0].device(), shape);
                    Tensor window = slice(full, d, start, end, step);
                    Layout.copyInto(g[0], window);
                    return new Tensor[] {full};
                }
            }, out);
        }
        return out;
    }

    /** Broadcast view: size-1 dims (and new leading dims) repeat with stride 0; -1 keeps a dim. */
    public static Tensor expand(Tensor t, long... newShape) {
        t.checkLive();
        long[] shape = t.shape();
        if (newShape.length < shape.length) {
            throw new TensorOpException("expand", "cannot expand " + Shapes.str(shape) + " to fewer dims " + Shapes.str(newShape));
        }
        long[] target = newShape.clone();
        int shift = target.length - shape.length;
        for (int i = 0; i < target.length; i++) {
            int j = i - shift;
            if (target[i] == -1) {
                if (j < 0) {
                    throw new TensorOpException("expand", "-1 not allowed for new leading dim " + i);
                }
                target[i] = shape[j];
            }
            if (j >= 0 && shape[j] != 1 && shape[j] != target[i]) {
                throw new TensorOpException("expand", "cannot expand " + Shapes.str(shape) + " to " + Shapes.str(newShape)
                        + " (dim " + i + ": " + shape[j] + " is not 1)");
            }
        }
        long[] strides = Shapes.broadcastStrides(shape, t.strides(), target);
        Tensor out = t.restrided(target, strides, t.offset());
        if (Autograd.needsRecord(t)) {
            Autograd.record(new Node("expand", t) {
                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {Arith.sumTo(g[0], shape)};
                }
            }, out);
        }
        return out;
    }

    public static Tensor squeeze(Tensor t, int dim) {
        int d = Shapes.dim("squeeze", dim, t.rank());
        long[] shape = t.shape();
        if (shape[d] != 1) {
            throw new TensorOpException("squeeze", "dim " + d + " of " + Shapes.str(shape) + " has size " + shape[d] + ", not 1");
        }
        long[] ns = new long[shape.length - 1];
        for (int i = 0, k = 0; i < shape.length; i++) {
            if (i != d) {
                ns[k++] = shape[i];
            }
        }
        return view(t, ns);
    }

    public static Tensor unsqueeze(Tensor t, int dim) {
        int d = Shapes.dim("unsqueeze", dim, t.rank() + 1);
        long[] shape = t.shape();
        long[] ns = new long[shape.length + 1];
        for (int i = 0, k = 0; i < ns.length; i++) {
            ns[i] = i == d ? 1 : shape[k++];
        }
        return view(t, ns);
    }

    /** {@code t} as a new handle when contiguous, else a contiguous copy. */
    public static Tensor contiguous(Tensor t) {
        t.checkLive();
        if (t.isContiguous()) {
            Tensor a = t.alias();
            if (Autograd.needsRecord(t)) {
                Autograd.record(new Layout.IdentityNode("contiguous", t), a);
            }
            return a;
        }
        return Layout.copy(t);
    }
}
