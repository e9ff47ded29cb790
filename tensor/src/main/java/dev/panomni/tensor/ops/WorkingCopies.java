package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;

/**
 * Kernel arguments for the fused ops (norms, rotary, activations, embeddings, attention), which
 * have more inputs and outputs than {@link Precision#compute} covers: inputs made contiguous and,
 * where the backend only stores their dtype, widened to F32; outputs allocated in the dtype the
 * kernel computes and narrowed once at the end. Nothing here is recorded for autograd (the fused
 * op records one node itself).
 */
final class WorkingCopies {
    private WorkingCopies() {
    }

    /** The dtype kernels compute {@code dtype} in on {@code t}'s backend. */
    static DType computeType(Tensor t) {
        DType d = t.dtype();
        return d.isFloating() && !t.backend().computesNatively(d) ? DType.F32 : d;
    }

    /** {@code t} contiguous and in its compute dtype (a new handle when it already is). */
    static Tensor input(Tensor t) {
        if (t == null) {
            return null;
        }
        return GradMode.noGrad(() -> {
            Tensor c = t.isContiguous() ? t.alias() : Layout.copy(t);
            DType ct = computeType(c);
            if (ct == c.dtype()) {
                return c;
            }
            Tensor w = Layout.cast(c, ct);
            c.close();
            return w;
        });
    }

    /** {@code t} contiguous in its own dtype (a new handle when it already is), not recorded. */
    static Tensor contiguous(Tensor t) {
        if (t == null) {
            return null;
        }
        return GradMode.noGrad(() -> t.isContiguous() ? t.alias() : Layout.copy(t));
    }

    /** An uninitialized contiguous output in the dtype kernels compute {@code like}'s dtype in. */
    static Tensor output(Tensor like, long... shape) {
        return Tensor.empty(computeType(like), like.device(), shape);
    }

    /** An uninitialized contiguous F32 tensor on {@code device} (saved statistics, workspaces). */
    static Tensor f32(Device device, long... shape) {
        return Tensor.empty(DType.F32, device, shape);
    }

    /**
     * {@code working} as {@code dtype}: itself when it already is, else a rounded copy and the
     * working tensor is closed.
     */
    static Tensor finish(Tensor working, DType dtype) {
        if (working == null || working.dtype() == dtype) {
            return working;
        }
        Tensor out = GradMode.noGrad(() -> Layout.cast(working, dtype));
        working.close();
        return out;
    }

    /** Closes every non-null handle. */
    static void close(Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null) {
                t.close();
            }
        }
    }
}
