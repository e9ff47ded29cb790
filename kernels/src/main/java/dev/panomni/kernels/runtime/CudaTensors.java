package dev.panomni.kernels.runtime;

import dev.panomni.tensor.Device;
import dev.panomni.tensor.Tensor;

/** Device addresses of tensors. */
public final class CudaTensors {
    private CudaTensors() {
    }

    /** The device address of element [0, ..., 0] of a CUDA tensor. */
    public static long address(Tensor t) {
        if (t.device().type() != Device.Type.CUDA) {
            throw new IllegalArgumentException("expected a CUDA tensor, got " + t.describe());
        }
        return t.storage().segment().address() + t.byteOffset();
    }

    /** The device of a CUDA tensor. */
    public static CudaDevice device(Tensor t) {
        return CudaRuntime.device(t.device());
    }
}
