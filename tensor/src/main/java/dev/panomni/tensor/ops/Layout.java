package dev.panomni.tensor.ops;

import dev.panomni.tensor.Backend;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.Node;

import java.util.Arrays;

/** Fill, copy, cast and device transfer. Cast and transfer are differentiable. */
public final class Layout {
    private Layout() {
    }

    static LayoutKernels kernels(Tensor t) {
        return t.backend().kernels(LayoutKernels.class);
    }

    /** Sets every element of {@code dst} to {@code value} (in place; not recorded). */
    public static void fill(Tensor dst, double value) {
        dst.checkLive();
        kernels(dst).fill(dst, value);
    }

    /** A contiguous copy with no autograd history shared (recorded as identity for autograd). */
    public static Tensor copy(Tensor src) {
        src.checkLive();
        Tensor out = Tensor.empty(src.dtype(), src.device(), src.shape());
        kernels(src).copy(src, out);
        if (Autograd.needsRecord(src)) {
            Autograd.record(new IdentityNode("copy", src), out);
        }
        return out;
    }

    /** Copies {@code src} into the (possibly strided) view {@code dst} in place; not recorded. */
    public static void copyInto(Tensor src, Tensor dst) {
        OpChecks.sameDevice("copyInto", src, dst);
        if (!Arrays.equals(src.shape(), dst.shape())) {
            throw new TensorOpException("copyInto", "source shape " + dev.panomni.tensor.Shapes.str(src.shape())
                    + " differs from destination " + dev.panomni.tensor.Shapes.str(dst.shape()));
        }
        kernels(dst).copy(src, dst);
    }

    /** {@code t} converted to {@code target}; a new handle to the same memory when already that dtype. */
    public static Tensor cast(Tensor t, DType target) {
        t.checkLive();
        if (t.dtype() == target) {
            Tensor a = t.alias();
            if (Autograd.needsRecord(t)) {
                Autograd.record(new IdentityNode("cast", t), a);
            }
            return a;
        }
        if (t.requiresGrad() && !target.isFloating() && dev.panomni.tensor.autograd.GradMode.isEnabled()) {
            throw new TensorOpException("cast", "cannot cast " + t.describe() + " that requires grad to " + target
                    + ": gradients only flow through floating dtypes (detach() first)");
        }
        Tensor out = Tensor.empty(target, t.device(), t.shape());
        kernels(t).copy(t, out);
        if (Autograd.needsRecord(t) && target.isFloating()) {
            DType from = t.dtype();
            Autograd.record(new Node("cast", t) {
                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {cast(g[0], from)};
                }
            }, out);
        }
        return out;
    }

    /** {@code t} copied to {@code target}; a new handle when already there. Recorded for autograd. */
    public static Tensor toDevice(Tensor t, Device target) {
        t.checkLive();
        if (t.device().equals(target)) {
            Tensor a = t.alias();
            if (Autograd.needsRecord(t)) {
                Autograd.record(new IdentityNode("to", t), a);
            }
            return a;
        }
        Device from = t.device();
        Tensor out;
        try (Scope s = Scope.open("toDevice")) {
            Tensor src = dev.panomni.tensor.autograd.GradMode.noGrad(() -> t.contiguous());
            long bytes = src.numel() * src.dtype().byteSize();
            Tensor dst = Tensor.empty(t.dtype(), target, t.shape());
            if (from.type() == Device.Type.CPU) {
                dst.backend().copyFromHost(src.data().asSlice(0, bytes), dst.storage(), dst.byteOffset(), bytes);
            } else if (target.type() == Device.Type.CPU) {
                src.backend().copyToHost(src.storage(), src.byteOffset(), dst.data().asSlice(0, bytes), bytes);
            } else {
                Tensor host = Tensor.empty(t.dtype(), Device.CPU, t.shape());
                Backend sb = src.backend();
                sb.copyToHost(src.storage(), src.byteOffset(), host.data().asSlice(0, bytes), bytes);
                dst.backend().copyFromHost(host.data().asSlice(0, bytes), dst.storage(), dst.byteOffset(), bytes);
            }
            out = s.keep(dst);
        }
        if (Autograd.needsRecord(t)) {
            Autograd.record(new Node("to", t) {
                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {toDevice(g[0], from)};
                }
            }, out);
        }
        return out;
    }

    /** Backward of ops that pass the gradient through unchanged. */
    static final class IdentityNode extends Node {
        IdentityNode(String op, Tensor input) {
            super(op, input);
        }

        @Override
        protected Tensor[] backward(Tensor[] g) {
            return new Tensor[] {g[0]};
        }
    }
}
