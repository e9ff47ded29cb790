package dev.panomni.kernels;

import dev.panomni.kernels.launch.IndexingLaunchers;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Index errors found on the device: kernels record the first bad position in a one-element I64 slot,
 * and the family reads it back after the launch (a wait for the device) to throw the same
 * {@link TensorOpException} the CPU backend throws. The wait is the price of reporting the error at
 * the op that caused it.
 */
final class DeviceIndexErrors {
    private DeviceIndexErrors() {
    }

    /** A fresh slot holding "nothing recorded", on t's device, owned by the current scope. */
    static Tensor slot(CudaStream s, Tensor onDeviceOf) {
        Tensor bad = Tensor.empty(DType.I64, onDeviceOf.device(), 1);
        IndexingLaunchers.resetBad(s, bad);
        return bad;
    }

    /** The recorded position, or -1 when every index was in range. Waits for the device. */
    static long firstBad(CudaStream s, Tensor bad) {
        long v = IndexingLaunchers.readBad(s, bad);
        return v == IndexingLaunchers.NONE ? -1 : v;
    }

    /** Element {@code position} of a contiguous I32 or I64 index tensor, read from the device. */
    static long indexAt(Tensor index, long position) {
        int bytes = index.dtype().byteSize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(8);
            CudaTensors.device(index).copyToHost(CudaTensors.address(index) + position * bytes, host, bytes);
            return index.dtype() == DType.I64 ? host.get(ValueLayout.JAVA_LONG, 0) : host.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** The CPU backend's message for an index out of range (CpuIndexingKernels.outOfRange). */
    static TensorOpException outOfRange(String op, long idx, int dim, long size, long position, long[] indexShape) {
        String allowed = size == 0 ? "none: the dim is empty" : "0.." + (size - 1);
        return new TensorOpException(op, "index " + idx + " is out of range for dim " + dim + " of size " + size
                + " (allowed " + allowed + "), at element " + position + " of the index " + Shapes.str(indexShape));
    }
}
