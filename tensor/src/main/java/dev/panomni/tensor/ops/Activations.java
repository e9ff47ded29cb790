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

/** Gated activations of transformer MLPs, one fused kernel forward and one backward. */
public final class Activations {
    private Activations() {
    }

    static ActivationKernels kernels(Tensor t) {
        return t.backend().kernels(ActivationKernels.class);
    }

    /**
     * SwiGLU (Llama, Qwen MLP): {@code silu(gate) * up} elementwise, computed in F32 and rounded
     * once to the inputs' dtype.
     *
     * @param gate [..., I] floating (the gate projection)
     * @param up   same shape, dtype and device as gate (the up projection)
     * @return [..., I]
     */
    public static Tensor swiglu(Tensor gate, Tensor up) {
        String op = "swiglu";
        OpChecks.sameDeviceAndDtype(op, gate, up);
        OpChecks.floating(op, gate);
        if (!Arrays.equals(gate.shape(), up.shape())) {
            throw new TensorOpException(op, "gate " + Shapes.str(gate.shape()) + " and up " + Shapes.str(up.shape())
                    + " must have the same shape (no broadcasting)");
        }
        long[] shape = gate.shape();
        DType dtype = gate.dtype();
        boolean record = Autograd.needsRecord(gate, up);
        Tensor[] res = GradMode.noGrad(() -> {
            try (Scope s = Scope.open(op)) {
                Tensor gc = WorkingCopies.contiguous(gate);
                Tensor uc = WorkingCopies.contiguous(up);
                Tensor gw = WorkingCopies.input(gc);
                Tensor uw = WorkingCopies.input(uc);
                Tensor ow = WorkingCopies.output(gw, shape);
                kernels(gate).swigluForward(gw, uw, ow);
                Tensor out = s.keep(WorkingCopies.finish(ow, dtype));
                return record ? new Tensor[] {out, s.keep(gc), s.keep(uc)} : new Tensor[] {out};
            }
        });
        Tensor out = res[0];
        if (record) {
            Autograd.record(new Node(op, gate, up) {
                final Tensor savedGate = save(res[1]);
                final Tensor savedUp = save(res[2]);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor dw = WorkingCopies.input(g[0]);
                    Tensor gw = WorkingCopies.input(savedGate);
                    Tensor uw = WorkingCopies.input(savedUp);
                    Tensor dgate = needsGrad(0) ? WorkingCopies.output(gw, shape) : null;
                    Tensor dup = needsGrad(1) ? WorkingCopies.output(gw, shape) : null;
                    kernels(gw).swigluBackward(dw, gw, uw, dgate, dup);
                    return new Tensor[] {WorkingCopies.finish(dgate, dtype), WorkingCopies.finish(dup, dtype)};
                }
            }, out);
            WorkingCopies.close(res[1], res[2]);
        }
        return out;
    }
}
