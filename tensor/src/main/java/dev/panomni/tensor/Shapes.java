package dev.panomni.tensor;

import java.util.Arrays;

/** Arithmetic on shapes and strides (element units). */
public final class Shapes {
    private Shapes() {
    }

    /** "[2, 3, 4]". */
    public static String str(long[] shape) {
        return Arrays.toString(shape);
    }

    /** Product of the extents; 1 for a scalar. */
    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Row-major strides of a contiguous tensor of {@code shape}. */
    public static long[] contiguousStrides(long[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= Math.max(1, shape[i]);
        }
        return s;
    }

    /** Normalizes a possibly negative dim into [0, rank). */
    public static int dim(String op, int dim, int rank) {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) {
            throw new TensorOpException(op, "dim " + dim + " is out of range for a tensor of rank " + rank
                    + " (allowed: " + (-Math.max(rank, 1)) + ".." + (Math.max(rank, 1) - 1) + ")");
        }
        return d;
    }

    /** The broadcast of two shapes (numpy rules), or a {@link TensorOpException} naming both. */
    public static long[] broadcast(String op, long[] a, long[] b) {
        int rank = Math.max(a.length, b.length);
        long[] out = new long[rank];
        for (int i = 0; i < rank; i++) {
            long da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            long db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new TensorOpException(op, "shapes " + str(a) + " and " + str(b)
                        + " are not broadcastable (dim " + i + ": " + da + " vs " + db + ")");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Strides that read a tensor of {@code shape}/{@code strides} as if expanded to {@code target}. */
    public static long[] broadcastStrides(long[] shape, long[] strides, long[] target) {
        long[] out = new long[target.length];
        int shift = target.length - shape.length;
        for (int i = 0; i < target.length; i++) {
            int j = i - shift;
            out[i] = (j < 0 || shape[j] == 1) ? 0 : strides[j];
        }
        return out;
    }

    /** Resolves one -1 extent in {@code shape} so the product equals {@code numel}. */
    public static long[] inferReshape(String op, long[] from, long[] shape) {
        long numel = numel(from);
        long known = 1;
        int infer = -1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == -1) {
                if (infer >= 0) {
                    throw new TensorOpException(op, "only one -1 allowed in target shape " + str(shape));
                }
                infer = i;
            } else if (shape[i] < 0) {
                throw new TensorOpException(op, "negative extent in target shape " + str(shape));
            } else {
                known *= shape[i];
            }
        }
        long[] out = shape.clone();
        if (infer >= 0) {
            if (known == 0 || numel % known != 0) {
                throw new TensorOpException(op, "cannot reshape " + str(from) + " (" + numel + " elements) to " + str(shape));
            }
            out[infer] = numel / known;
        } else if (known != numel) {
            throw new TensorOpException(op, "cannot reshape " + str(from) + " (" + numel + " elements) to "
                    + str(shape) + " (" + known + " elements)");
        }
        return out;
    }

    /**
     * Strides that let a tensor of {@code shape}/{@code strides} be viewed as {@code target} without a
     * copy, or null when the memory layout does not allow it (the rule of torch.view).
     */
    public static long[] viewStrides(long[] shape, long[] strides, long[] target) {
        if (shape.length == 0 || numel(shape) == 0) {
            return contiguousStrides(target);
        }
        long[] out = new long[target.length];
        int viewD = target.length - 1;
        long chunkBaseStride = strides[strides.length - 1];
        long tensorNumel = 1;
        long viewNumel = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            tensorNumel *= shape[d];
            if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensorNumel * chunkBaseStride)) {
                while (viewD >= 0 && (viewNumel < tensorNumel || target[viewD] == 1)) {
                    out[viewD] = viewNumel * chunkBaseStride;
                    viewNumel *= target[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) {
                    return null;
                }
                if (d > 0) {
                    chunkBaseStride = strides[d - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        return viewD == -1 ? out : null;
    }
}
