package dev.panomni.tensor.ops;

import dev.panomni.tensor.Backend;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;
import dev.panomni.tensor.ops.ArithKernels.BinaryOp;

import java.util.Arrays;

/**
 * Elementwise arithmetic with numpy broadcasting, forward and backward side by side. Gradients of
 * broadcast inputs are summed back to the input's shape.
 */
public final class Arith {
    private Arith() {
    }

    static ArithKernels kernels(Tensor t) {
        return t.backend().kernels(ArithKernels.class);
    }

    public static Tensor add(Tensor a, Tensor b) {
        return binary("add", BinaryOp.ADD, a, b);
    }

    public static Tensor sub(Tensor a, Tensor b) {
        return binary("sub", BinaryOp.SUB, a, b);
    }

    public static Tensor mul(Tensor a, Tensor b) {
        return binary("mul", BinaryOp.MUL, a, b);
    }

    public static Tensor div(Tensor a, Tensor b) {
        return binary("div", BinaryOp.DIV, a, b);
    }

    private static Tensor binary(String op, BinaryOp kind, Tensor a, Tensor b) {
        OpChecks.sameDeviceAndDtype(op, a, b);
        long[] outShape = Shapes.broadcast(op, a.shape(), b.shape());
        Tensor out = Precision.compute(a.backend(), a.dtype(), outShape, (wa, wb, o) -> {
            Tensor ea = wa.restrided(outShape, Shapes.broadcastStrides(wa.shape(), wa.strides(), outShape), wa.offset());
            Tensor eb = wb.restrided(outShape, Shapes.broadcastStrides(wb.shape(), wb.strides(), outShape), wb.offset());
            kernels(o).binary(kind, ea, eb, o);
        }, a, b);
        if (Autograd.needsRecord(a, b)) {
            long[] as = a.shape();
            long[] bs = b.shape();
            Tensor sa = kind == BinaryOp.MUL || kind == BinaryOp.DIV ? a : null;
            Tensor sb = kind == BinaryOp.MUL || kind == BinaryOp.DIV ? b : null;
            Autograd.record(new Node(op, a, b) {
                final Tensor savedA = sa != null && needsGrad(1) ? save(sa) : null;
                final Tensor savedB = sb != null ? save(sb) : null;

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor go = g[0];
                    Tensor ga = null;
                    Tensor gb = null;
                    switch (kind) {
                        case ADD -> {
                            ga = needsGrad(0) ? sumTo(go, as) : null;
                            gb = needsGrad(1) ? sumTo(go, bs) : null;
                        }
                        case SUB -> {
                            ga = needsGrad(0) ? sumTo(go, as) : null;
                            gb = needsGrad(1) ? sumTo(mulScalar(go, -1.0), bs) : null;
                        }
                        case MUL -> {
                            ga = needsGrad(0) ? sumTo(mul(go, savedB), as) : null;
                            gb = needsGrad(1) ? sumTo(mul(go, savedA), bs) : null;
                        }
                        case DIV -> {
                            ga = needsGrad(0) ? sumTo(div(go, savedB), as) : null;
                            if (needsGrad(1)) {
                                // d(a/b)/db = -a / b^2
                                Tensor q = div(div(mul(go, savedA), savedB), savedB);
                                gb = sumTo(mulScalar(q, -1.0), bs);
                            }
                        }
                    }
                    return new Tensor[] {ga, gb};
                }
            }, out);
        }
        return out;
    }

    /** {@code a * s}. */
    public static Tensor mulScalar(Tensor a, double s) {
        return affine("mulScalar", a, s, 0.0);
    }

    /** {@code a + s}. */
    public static Tensor addScalar(Tensor a, double s) {
        return affine("addScalar", a, 1.0, s);
    }

    /** {@code -a}. */
    public static Tensor neg(Tensor a) {
        return affine("neg", a, -1.0, 0.0);
    }

    /** {@code a * scale + shift}, recorded. */
    public static Tensor affine(String op, Tensor a, double scale, double shift) {
        a.checkLive();
        Tensor out = Precision.compute(a.backend(), a.dtype(), a.shape(), (wa, o) -> {
            Tensor c = wa.isContiguous() ? wa : Views.contiguous(wa);
            kernels(o).affine(c, scale, shift, o);
        }, a);
        if (Autograd.needsRecord(a)) {
            Autograd.record(new Node(op, a) {
                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {scale == 1.0 ? g[0] : mulScalar(g[0], scale)};
                }
            }, out);
        }
        return out;
    }

    /**
     * Sums {@code t} down to {@code shape} (which must broadcast to t's shape): the backward of a
     * broadcast. Returns a new handle to {@code t} when the shapes already agree.
     */
    public static Tensor sumTo(Tensor t, long[] shape) {
        t.checkLive();
        long[] ts = t.shape();
        if (Arrays.equals(ts, shape)) {
            return Views.contiguous(t);
        }
        long[] check = Shapes.broadcast("sumTo", shape, ts);
        if (!Arrays.equals(check, ts)) {
            throw new TensorOpException("sumTo", "shape " + Shapes.str(shape) + " does not broadcast to " + Shapes.str(ts));
        }
        Tensor out = Precision.compute(t.backend(), t.dtype(), shape, (wt, o) -> {
            Tensor c = wt.isContiguous() ? wt : Views.contiguous(wt);
            kernels(o).sumTo(c, o);
        }, t);
        if (Autograd.needsRecord(t)) {
            Autograd.record(new Node("sumTo", t) {
                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {Views.contiguous(Views.expand(g[0], ts))};
                }
            }, out);
        }
        return out;
    }

    /**
     * {@code dst += src} in place (src broadcast to dst's shape). Not recorded: for gradient
     * accumulation and optimizers, and refused on tensors that take part in autograd.
     */
    public static void addInPlace(Tensor dst, Tensor src) {
        inPlace("addInPlace", BinaryOp.ADD, dst, src);
    }

    /** {@code dst *= src} in place (broadcast); not recorded. */
    public static void mulInPlace(Tensor dst, Tensor src) {
        inPlace("mulInPlace", BinaryOp.MUL, dst, src);
    }

    /** {@code dst = dst * scale} in place; not recorded. */
    public static void scaleInPlace(Tensor dst, double scale) {
        dst.checkLive();
        checkInPlace("scaleInPlace", dst);
        if (!dst.isContiguous()) {
            throw new TensorOpException("scaleInPlace", "destination must be contiguous, got strides "
                    + Shapes.str(dst.strides()));
        }
        if (!dst.backend().computesNatively(dst.dtype())) {
            try (Scope s = Scope.open("scaleInPlace")) {
                Tensor w = GradMode.noGrad(() -> Layout.cast(dst, dev.panomni.tensor.DType.F32));
                kernels(w).affine(w, scale, 0.0, w);
                Layout.copyInto(w, dst);
            }
            return;
        }
        kernels(dst).affine(dst, scale, 0.0, dst);
    }

    private static void inPlace(String op, BinaryOp kind, Tensor dst, Tensor src) {
        OpChecks.sameDeviceAndDtype(op, dst, src);
        checkInPlace(op, dst);
        long[] shape = dst.shape();
        long[] bs = Shapes.broadcast(op, shape, src.shape());
        if (!Arrays.equals(bs, shape)) {
            throw new TensorOpException(op, "source " + Shapes.str(src.shape()) + " does not broadcast to destination "
                    + Shapes.str(shape));
        }
        if (!dst.isContiguous()) {
            throw new TensorOpException(op, "destination must be contiguous, got strides " + Shapes.str(dst.strides()));
        }
        try (Scope s = Scope.open(op)) {
            Backend be = dst.backend();
            boolean wide = !be.computesNatively(dst.dtype());
            Tensor d = wide ? GradMode.noGrad(() -> Layout.cast(dst, dev.panomni.tensor.DType.F32)) : dst;
            Tensor sr = wide ? GradMode.noGrad(() -> Layout.cast(src, dev.panomni.tensor.DType.F32)) : src;
            Tensor eb = sr.restrided(shape, Shapes.broadcastStrides(sr.shape(), sr.strides(), shape), sr.offset());
            kernels(d).binary(kind, d, eb, d);
            if (wide) {
                Layout.copyInto(d, dst);
            }
        }
    }

    private static void checkInPlace(String op, Tensor dst) {
        if (GradMode.isEnabled() && dst.requiresGrad() && !dst.isLeaf()) {
            throw new TensorOpException(op, "in-place update of " + dst.describe()
                    + ", which autograd recorded; do it under GradMode.noGrad or on a detached tensor");
        }
    }
}
