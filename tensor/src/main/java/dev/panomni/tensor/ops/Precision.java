package dev.panomni.tensor.ops;

import dev.panomni.tensor.Backend;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;

/**
 * Runs a kernel in a dtype its backend computes natively: inputs of a dtype the backend only
 * stores (BF16 and F16 on the CPU) are widened to F32, and the result is narrowed back. Kernels
 * therefore see F32 on the CPU and native BF16 where a backend declares it.
 */
public final class Precision {
    private Precision() {
    }

    /** A kernel body over one input and an output. */
    @FunctionalInterface
    public interface Unary {
        void run(Tensor a, Tensor out);
    }

    /** A kernel body over two inputs and an output. */
    @FunctionalInterface
    public interface Binary {
        void run(Tensor a, Tensor b, Tensor out);
    }

    /** Allocates the {@code dtype} output of {@code shape} and runs {@code body} on working copies. */
    public static Tensor compute(Backend backend, DType dtype, long[] shape, Unary body, Tensor a) {
        return compute(backend, dtype, shape, (x, y, o) -> body.run(x, o), a, null);
    }

    /** Two-input form of {@link #compute(Backend, DType, long[], Unary, Tensor)}. */
    public static Tensor compute(Backend backend, DType dtype, long[] shape, Binary body, Tensor a, Tensor b) {
        return GradMode.noGrad(() -> {
            Tensor out = Tensor.empty(dtype, a.device(), shape);
            if (backend.computesNatively(dtype)) {
                body.run(a, b, out);
                return out;
            }
            try (Scope s = Scope.open("widen")) {
                Tensor wa = Layout.cast(a, DType.F32);
                Tensor wb = b == null ? null : Layout.cast(b, DType.F32);
                Tensor wo = Tensor.empty(DType.F32, a.device(), shape);
                body.run(wa, wb, wo);
                Layout.copyInto(wo, out);
            }
            return out;
        });
    }

    /** {@code t} itself (new handle) if the backend computes its dtype, else an F32 copy. */
    public static Tensor widen(Tensor t) {
        if (t.backend().computesNatively(t.dtype()) || !t.dtype().isFloating()) {
            return t.alias();
        }
        return GradMode.noGrad(() -> Layout.cast(t, DType.F32));
    }
}
