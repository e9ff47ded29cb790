package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;

/** Argument checks shared by op front ends; every failure names the op and the offending values. */
public final class OpChecks {
    private OpChecks() {
    }

    /** Live handles, one device, one dtype. */
    public static void sameDeviceAndDtype(String op, Tensor... ts) {
        Tensor first = null;
        for (Tensor t : ts) {
            if (t == null) {
                continue;
            }
            t.checkLive();
            if (first == null) {
                first = t;
                continue;
            }
            if (!t.device().equals(first.device())) {
                throw new TensorOpException(op, "tensors on different devices: " + first.describe() + " and "
                        + t.describe() + "; move one with to(Device)");
            }
            if (t.dtype() != first.dtype()) {
                throw new TensorOpException(op, "dtype mismatch: " + first.describe() + " and " + t.describe()
                        + "; cast one with to(DType)");
            }
        }
    }

    /** Live handles on one device (dtypes may differ, e.g. index tensors). */
    public static void sameDevice(String op, Tensor... ts) {
        Tensor first = null;
        for (Tensor t : ts) {
            if (t == null) {
                continue;
            }
            t.checkLive();
            if (first == null) {
                first = t;
            } else if (!t.device().equals(first.device())) {
                throw new TensorOpException(op, "tensors on different devices: " + first.describe() + " and "
                        + t.describe() + "; move one with to(Device)");
            }
        }
    }

    public static void floating(String op, Tensor t) {
        if (!t.dtype().isFloating()) {
            throw new TensorOpException(op, "needs a floating tensor (F32, BF16, F16), got " + t.describe());
        }
    }

    public static void indexType(String op, Tensor t) {
        if (t.dtype() != DType.I64 && t.dtype() != DType.I32) {
            throw new TensorOpException(op, "indices must be I64 or I32, got " + t.describe());
        }
    }

    public static void rank(String op, Tensor t, int rank) {
        if (t.rank() != rank) {
            throw new TensorOpException(op, "expected a tensor of rank " + rank + ", got shape " + Shapes.str(t.shape()));
        }
    }

    public static void shape(String op, String what, Tensor t, long... expected) {
        if (!java.util.Arrays.equals(t.shape(), expected)) {
            throw new TensorOpException(op, what + " must have shape " + Shapes.str(expected) + ", got "
                    + Shapes.str(t.shape()));
        }
    }
}
