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
 * Reading and accumulating along a dim at positions an index tensor gives (torch's gather,
 * scatter_add, index_select and index_add), forward and backward side by side. Each pair is the
 * other's backward: gather and scatterAdd, indexSelect and indexAdd.
 *
 * <p>Indices are I64 or I32 and must lie in {@code [0, size)} of the indexed dim (negative indices
 * are not wrapped); the kernel checks them and throws a {@link TensorOpException} naming the op, the
 * bad value and the allowed range. Accumulation is deterministic: repeated indices add their
 * contributions in ascending source order, the same on every run and thread count.
 */
public final class Indexing {
    private Indexing() {
    }

    static IndexingKernels kernels(Tensor t) {
        return t.backend().kernels(IndexingKernels.class);
    }

    // ---------------------------------------------------------------- gather / scatterAdd

    /**
     * {@code out[i][j][k] = t[i][index[i][j][k]][k]} for dim 1, likewise for other dims
     * (torch.gather). {@code index} has t's rank and, on every dim but {@code dim}, at most t's
     * extent; the result has index's shape and t's dtype. Backward: the gradient scatter-added into
     * zeros of t's shape.
     */
    public static Tensor gather(Tensor t, int dim, Tensor index) {
        String op = "gather";
        checkIndexTensor(op, t, index);
        int d = Shapes.dim(op, dim, t.rank());
        if (index.rank() != t.rank()) {
            throw new TensorOpException(op, "index of shape " + Shapes.str(index.shape()) + " must have the rank of "
                    + "the source " + Shapes.str(t.shape()));
        }
        checkNotLarger(op, "index", index.shape(), "source", t.shape(), d);
        long[] tShape = t.shape();
        Tensor out = Tensor.empty(t.dtype(), t.device(), index.shape());
        GradMode.noGrad(() -> {
            if (out.numel() == 0) {
                return;
            }
            try (Scope s = Scope.open(op)) {
                Tensor src = restrictExceptDim(t, index.shape(), d);
                kernels(out).gather(src, d, Views.contiguous(index), out);
            }
        });
        if (Autograd.needsRecord(t)) {
            Autograd.record(new Node(op, t) {
                final Tensor savedIndex = save(index);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor dt = Tensor.zeros(g[0].dtype(), g[0].device(), tShape);
                    scatterAddInto(dt, d, savedIndex, g[0]);
                    return new Tensor[] {dt};
                }
            }, out);
        }
        return out;
    }

    /**
     * {@code t} plus {@code src} scattered along {@code dim}: a copy of t where, for dim 1,
     * {@code out[i][index[i][j][k]][k] += src[i][j][k]} (torch.scatter_add, out of place).
     * {@code index}, {@code src} and {@code t} share one rank; index is at most src's extent on every
     * dim and at most t's on every dim but {@code dim}; only src's first index-shaped block is read.
     * Backward: {@code dt = g}, {@code dsrc = gather(g, dim, index)} (zeros outside that block).
     */
    public static Tensor scatterAdd(Tensor t, int dim, Tensor index, Tensor src) {
        String op = "scatterAdd";
        OpChecks.sameDeviceAndDtype(op, t, src);
        checkIndexTensor(op, t, index);
        checkAccumulable(op, t);
        int d = Shapes.dim(op, dim, t.rank());
        if (index.rank() != t.rank() || src.rank() != t.rank()) {
            throw new TensorOpException(op, "source " + Shapes.str(t.shape()) + ", index " + Shapes.str(index.shape())
                    + " and src " + Shapes.str(src.shape()) + " must have one rank");
        }
        checkNotLarger(op, "index", index.shape(), "src", src.shape(), -1);
        checkNotLarger(op, "index", index.shape(), "source", t.shape(), d);
        long[] srcShape = src.shape();
        Tensor out = GradMode.noGrad(() -> {
            Tensor o = Layout.copy(t);
            scatterAddInto(o, d, index, src);
            return o;
        });
        if (Autograd.needsRecord(t, src)) {
            Autograd.record(new Node(op, t, src) {
                final Tensor savedIndex = needsGrad(1) ? save(index) : null;

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor dt = needsGrad(0) ? g[0] : null;
                    Tensor dsrc = null;
                    if (needsGrad(1)) {
                        Tensor picked = gather(g[0], d, savedIndex);
                        if (Arrays.equals(picked.shape(), srcShape)) {
                            dsrc = picked;
                        } else {
                            dsrc = Tensor.zeros(picked.dtype(), picked.device(), srcShape);
                            Layout.copyInto(picked, restrict(dsrc, picked.shape()));
                        }
                    }
                    return new Tensor[] {dt, dsrc};
                }
            }, out);
        }
        return out;
    }

    /**
     * Scatter-adds {@code src} into {@code dst} (contiguous) in place, through an F32 working copy
     * where the backend does not compute dst's dtype; not recorded.
     */
    static void scatterAddInto(Tensor dst, int d, Tensor index, Tensor src) {
        if (index.numel() == 0) {
            return;
        }
        GradMode.noGrad(() -> {
            try (Scope s = Scope.open("scatterAdd")) {
                boolean wide = !dst.backend().computesNatively(dst.dtype());
                Tensor work = wide ? Layout.cast(dst, DType.F32) : dst;
                Tensor from = wide ? Layout.cast(src, DType.F32) : src;
                long[] is = index.shape();
                kernels(dst).scatterAdd(restrictExceptDim(work, is, d), d, Views.contiguous(index), restrict(from, is));
                if (wide) {
                    Layout.copyInto(work, dst);
                }
            }
        });
    }

    // ---------------------------------------------------------------- indexSelect / indexAdd

    /**
     * The entries {@code index[0], index[1], ...} of {@code t} along {@code dim}: for {@code t [a, V, b]}
     * and {@code index [n]} at dim 1 the result is {@code [a, n, b]} (torch.index_select). Backward:
     * the gradient index-added into zeros of t's shape.
     */
    public static Tensor indexSelect(Tensor t, int dim, Tensor index) {
        String op = "indexSelect";
        checkIndexTensor(op, t, index);
        int d = Shapes.dim(op, dim, t.rank());
        OpChecks.rank(op, index, 1);
        long[] tShape = t.shape();
        long[] outShape = t.shape();
        outShape[d] = index.size(0);
        Tensor out = Tensor.empty(t.dtype(), t.device(), outShape);
        GradMode.noGrad(() -> {
            if (out.numel() == 0) {
                return;
            }
            try (Scope s = Scope.open(op)) {
                kernels(out).indexSelect(Views.contiguous(t), d, Views.contiguous(index), out);
            }
        });
        if (Autograd.needsRecord(t)) {
            Autograd.record(new Node(op, t) {
                final Tensor savedIndex = save(index);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor dt = Tensor.zeros(g[0].dtype(), g[0].device(), tShape);
                    indexAddInto(dt, d, savedIndex, g[0]);
                    return new Tensor[] {dt};
                }
            }, out);
        }
        return out;
    }

    /**
     * The rows of {@code t} [n, ...] in the order {@code order} (row i of the result is row
     * {@code order[i]}), where {@code order} is a permutation of 0..n-1 and {@code inverse} its
     * inverse ({@code inverse[order[i]] = i}), both I64/I32 [n] on t's device. The caller builds the
     * pair (a routing step that sorts rows and knows where each one went); only their shapes are
     * checked. Backward: the gradient's rows gathered with {@code inverse}, a permutation too, where
     * {@link #indexSelect}'s backward would index-add (sort, then accumulate).
     */
    public static Tensor permuteRows(Tensor t, Tensor order, Tensor inverse) {
        String op = "permuteRows";
        checkIndexTensor(op, t, order);
        checkIndexTensor(op, t, inverse);
        OpChecks.rank(op, order, 1);
        OpChecks.rank(op, inverse, 1);
        if (order.size(0) != t.size(0) || inverse.size(0) != t.size(0)) {
            throw new TensorOpException(op, "order " + Shapes.str(order.shape()) + " and inverse "
                    + Shapes.str(inverse.shape()) + " must both have one entry per row of " + Shapes.str(t.shape()));
        }
        Tensor out = GradMode.noGrad(() -> indexSelect(t, 0, order));
        if (Autograd.needsRecord(t)) {
            Autograd.record(new Node(op, t) {
                final Tensor back = save(inverse);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {GradMode.noGrad(() -> indexSelect(g[0], 0, back))};
                }
            }, out);
        }
        return out;
    }

    /**
     * {@code t} plus {@code src} added at the entries {@code index} along {@code dim}: for dim 0,
     * {@code out[index[j], ...] += src[j, ...]} (torch.index_add, out of place). {@code src} has t's
     * shape except n entries along dim for {@code index [n]}; repeated indices accumulate. Backward:
     * {@code dt = g}, {@code dsrc = indexSelect(g, dim, index)}.
     */
    public static Tensor indexAdd(Tensor t, int dim, Tensor index, Tensor src) {
        String op = "indexAdd";
        int d = checkIndexAdd(op, t, dim, index, src);
        Tensor out = GradMode.noGrad(() -> {
            Tensor o = Layout.copy(t);
            indexAddInto(o, d, index, src);
            return o;
        });
        if (Autograd.needsRecord(t, src)) {
            Autograd.record(new Node(op, t, src) {
                final Tensor savedIndex = needsGrad(1) ? save(index) : null;

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {needsGrad(0) ? g[0] : null,
                        needsGrad(1) ? indexSelect(g[0], d, savedIndex) : null};
                }
            }, out);
        }
        return out;
    }

    /**
     * {@code dst[.., index[j], ..] += src[.., j, ..]} along {@code dim}, in place and not recorded: for
     * gradient accumulation (embedding backward) and mixture-of-experts combines. {@code dst} must be
     * contiguous; shapes as in {@link #indexAdd}. A bad index leaves dst unchanged. Refused on tensors
     * autograd recorded, like {@link Arith#addInPlace}.
     */
    public static void indexAddInPlace(Tensor dst, int dim, Tensor index, Tensor src) {
        String op = "indexAddInPlace";
        int d = checkIndexAdd(op, dst, dim, index, src);
        if (!dst.isContiguous()) {
            throw new TensorOpException(op, "destination must be contiguous, got shape " + Shapes.str(dst.shape())
                    + " with strides " + Shapes.str(dst.strides()));
        }
        if (GradMode.isEnabled() && dst.requiresGrad() && !dst.isLeaf()) {
            throw new TensorOpException(op, "in-place update of " + dst.describe()
                    + ", which autograd recorded; do it under GradMode.noGrad or on a detached tensor");
        }
        indexAddInto(dst, d, index, src);
    }

    /** Index-adds into contiguous {@code dst}, through an F32 working copy where needed; not recorded. */
    static void indexAddInto(Tensor dst, int d, Tensor index, Tensor src) {
        if (index.numel() == 0 || src.numel() == 0) {
            return;
        }
        GradMode.noGrad(() -> {
            try (Scope s = Scope.open("indexAdd")) {
                boolean wide = !dst.backend().computesNatively(dst.dtype());
                Tensor work = wide ? Layout.cast(dst, DType.F32) : dst;
                Tensor from = wide ? Layout.cast(src, DType.F32) : Views.contiguous(src);
                kernels(dst).indexAdd(work, d, Views.contiguous(index), from);
                if (wide) {
                    Layout.copyInto(work, dst);
                }
            }
        });
    }

    private static int checkIndexAdd(String op, Tensor t, int dim, Tensor index, Tensor src) {
        OpChecks.sameDeviceAndDtype(op, t, src);
        checkIndexTensor(op, t, index);
        checkAccumulable(op, t);
        int d = Shapes.dim(op, dim, t.rank());
        OpChecks.rank(op, index, 1);
        long[] expected = t.shape();
        expected[d] = index.size(0);
        if (!Arrays.equals(src.shape(), expected)) {
            throw new TensorOpException(op, "src must have shape " + Shapes.str(expected) + " (destination "
                    + Shapes.str(t.shape()) + " with dim " + d + " of index " + Shapes.str(index.shape())
                    + "), got " + Shapes.str(src.shape()));
        }
        return d;
    }

    // ---------------------------------------------------------------- shared checks and views

    private static void checkIndexTensor(String op, Tensor t, Tensor index) {
        if (t == null || index == null) {
            throw new TensorOpException(op, "source and index must not be null");
        }
        OpChecks.sameDevice(op, t, index);
        OpChecks.indexType(op, index);
        if (t.rank() == 0) {
            throw new TensorOpException(op, "cannot index a zero-dimensional tensor (shape []); unsqueeze it first");
        }
    }

    private static void checkAccumulable(String op, Tensor t) {
        if (t.dtype() == DType.BOOL) {
            throw new TensorOpException(op, "cannot add into a BOOL tensor " + t.describe() + "; cast it to a numeric dtype");
        }
    }

    /** Each extent of {@code small} is at most {@code big}'s, except at {@code skip} (-1: none). */
    private static void checkNotLarger(String op, String smallName, long[] small, String bigName, long[] big, int skip) {
        for (int i = 0; i < small.length; i++) {
            if (i != skip && small[i] > big[i]) {
                throw new TensorOpException(op, smallName + " " + Shapes.str(small) + " is larger than " + bigName + " "
                        + Shapes.str(big) + " at dim " + i + " (" + small[i] + " > " + big[i] + ")"
                        + (skip >= 0 ? "; only dim " + skip + " may be larger" : ""));
            }
        }
    }

    /** An unrecorded view of the leading block of {@code t} with extents {@code shape}. */
    private static Tensor restrict(Tensor t, long[] shape) {
        return t.restrided(shape, t.strides(), t.offset());
    }

    /** Like {@link #restrict} on every dim but {@code d}, which keeps t's extent. */
    private static Tensor restrictExceptDim(Tensor t, long[] shape, int d) {
        long[] s = shape.clone();
        s[d] = t.size(d);
        return restrict(t, s);
    }
}
