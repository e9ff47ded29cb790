package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.Node;

import java.util.Arrays;

/**
 * Elementwise choice by a boolean mask (attention masks, padding, clamping logits), forward and
 * backward side by side. The gradient flows to whichever input each element came from.
 */
public final class Selection {
    private Selection() {
    }

    static SelectionKernels kernels(Tensor t) {
        return t.backend().kernels(SelectionKernels.class);
    }

    /**
     * {@code cond ? a : b} elementwise, with numpy broadcasting of all three: {@code cond [T, 1]},
     * {@code a [T, V]} and {@code b []} give {@code [T, V]}. {@code cond} is BOOL; a and b share a
     * dtype (any) and device. Backward: the gradient where cond holds goes to a, the rest to b, each
     * summed back to its input's shape.
     */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) {
        String op = "where";
        checkMask(op, "cond", cond);
        OpChecks.sameDeviceAndDtype(op, a, b);
        OpChecks.sameDevice(op, cond, a);
        long[] outShape;
        try {
            outShape = Shapes.broadcast(op, Shapes.broadcast(op, cond.shape(), a.shape()), b.shape());
        } catch (TensorOpException e) {
            throw new TensorOpException(op, "cond " + Shapes.str(cond.shape()) + ", a " + Shapes.str(a.shape())
                    + " and b " + Shapes.str(b.shape()) + " do not broadcast to one shape");
        }
        Tensor out = select(cond, a, b, outShape);
        if (Autograd.needsRecord(a, b)) {
            long[] as = a.shape();
            long[] bs = b.shape();
            Autograd.record(new Node(op, a, b) {
                final Tensor savedCond = save(cond);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor zero = Tensor.zeros(g[0].dtype(), g[0].device());
                    Tensor ga = needsGrad(0) ? Arith.sumTo(where(savedCond, g[0], zero), as) : null;
                    Tensor gb = needsGrad(1) ? Arith.sumTo(where(savedCond, zero, g[0]), bs) : null;
                    return new Tensor[] {ga, gb};
                }
            }, out);
        }
        return out;
    }

    /**
     * {@code t} with {@code value} (rounded to t's dtype) wherever {@code mask} holds; {@code mask}
     * is BOOL and broadcasts to t's shape, e.g. a causal mask {@code [T, T]} over scores
     * {@code [H, T, T]}. Backward: the gradient with masked positions zeroed.
     */
    public static Tensor maskedFill(Tensor t, Tensor mask, double value) {
        String op = "maskedFill";
        t.checkLive();
        checkMask(op, "mask", mask);
        OpChecks.sameDevice(op, t, mask);
        long[] shape = t.shape();
        long[] joint;
        try {
            joint = Shapes.broadcast(op, mask.shape(), shape);
        } catch (TensorOpException e) {
            joint = null;
        }
        if (joint == null || !Arrays.equals(joint, shape)) {
            throw new TensorOpException(op, "mask " + Shapes.str(mask.shape()) + " does not broadcast to the tensor's shape "
                    + Shapes.str(shape));
        }
        Tensor out;
        try (Scope s = Scope.open(op)) {
            Tensor fill = Tensor.full(t.dtype(), t.device(), value);
            out = s.keep(select(mask, fill, t, shape));
        }
        if (Autograd.needsRecord(t)) {
            Autograd.record(new Node(op, t) {
                final Tensor savedMask = save(mask);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor zero = Tensor.zeros(g[0].dtype(), g[0].device());
                    return new Tensor[] {where(savedMask, zero, g[0])};
                }
            }, out);
        }
        return out;
    }

    /** Runs the where kernel on broadcast views of the operands; not recorded. */
    private static Tensor select(Tensor cond, Tensor a, Tensor b, long[] outShape) {
        Tensor out = Tensor.empty(a.dtype(), a.device(), outShape);
        if (out.numel() == 0) {
            return out;
        }
        try (Scope s = Scope.open("where")) {
            kernels(out).where(expanded(cond, outShape), expanded(a, outShape), expanded(b, outShape), out);
        }
        return out;
    }

    private static Tensor expanded(Tensor t, long[] shape) {
        return t.restrided(shape, Shapes.broadcastStrides(t.shape(), t.strides(), shape), t.offset());
    }

    private static void checkMask(String op, String what, Tensor m) {
        if (m == null) {
            throw new TensorOpException(op, what + " must not be null");
        }
        m.checkLive();
        if (m.dtype() != DType.BOOL) {
            throw new TensorOpException(op, what + " must be BOOL, got " + m.describe()
                    + "; compare to get a mask or cast with to(DType.BOOL)");
        }
    }
}
