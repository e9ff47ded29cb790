package dev.panomni.kernels;

import dev.panomni.kernels.launch.IndexingLaunchers;
import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Index errors found on the device: kernels record the first bad position in a one-element I64 slot,
 * and the slot is read back to throw the same {@link TensorOpException} the CPU backend throws.
 *
 * <p>Reading a slot right after its launch would make the host wait for the device at every gather
 * and scatter (in a mixture-of-experts layer, several times a layer, each leaving the GPU idle while
 * the host catches up). So {@link #report} only files the check; filed checks are read when the host
 * next waits for the device anyway ({@link CudaDevice#onHostSync}: a synchronize, a copy to the
 * host), or once {@value #MAX_PENDING} are waiting, and the first bad one is thrown from there,
 * naming the op that met it, as {@link dev.panomni.tensor.ops.IndexingKernels} allows. The kernels
 * write nothing out of range, and the accumulating ones nothing at all once an index is bad.
 * {@code -Dpanomni.cuda.eagerIndexChecks=true} reads each slot at its op instead (debugging).
 */
final class DeviceIndexErrors {
    static final int MAX_PENDING = 256;
    private static final boolean EAGER = Boolean.getBoolean("panomni.cuda.eagerIndexChecks");
    private static final Map<CudaDevice, List<Pending>> PENDING = new ConcurrentHashMap<>();
    private static final ThreadLocal<Boolean> FLUSHING = ThreadLocal.withInitial(() -> false);

    /** One filed check: the slot and the index tensor, kept alive by their own scope until read. */
    private record Pending(String op, Tensor bad, Tensor index, int dim, long size, Scope holder) {
    }

    private DeviceIndexErrors() {
    }

    /**
     * Files the check of {@code bad} for {@code op} (or reads it now when eager checks are on); a
     * bad index is thrown at the device's next host synchronization.
     */
    static void report(CudaStream s, Tensor bad, String op, Tensor index, int dim, long size) {
        if (EAGER) {
            long at = firstBad(s, bad);
            if (at >= 0) {
                throw outOfRange(op, indexAt(index, at), dim, size, at, index.shape());
            }
            return;
        }
        CudaDevice device = s.device();
        List<Pending> list = PENDING.computeIfAbsent(device, d -> {
            d.onHostSync(() -> flush(d));
            return new ArrayList<>();
        });
        Scope holder = Scope.detached(op + " index check");
        Pending p = new Pending(op, bad.alias().moveTo(holder), index.alias().moveTo(holder), dim, size, holder);
        int waiting;
        synchronized (list) {
            list.add(p);
            waiting = list.size();
        }
        if (waiting >= MAX_PENDING) {
            device.synchronize();
        }
    }

    /** Reads every filed check of {@code device}; throws the first bad one. */
    static void flush(CudaDevice device) {
        List<Pending> list = PENDING.get(device);
        if (list == null || FLUSHING.get()) {
            return;
        }
        List<Pending> taken;
        synchronized (list) {
            if (list.isEmpty()) {
                return;
            }
            taken = new ArrayList<>(list);
            list.clear();
        }
        FLUSHING.set(true);
        try {
            TensorOpException first = null;
            for (Pending p : taken) {
                try {
                    if (first == null) {
                        long at = firstBad(device.computeStream(), p.bad());
                        if (at >= 0) {
                            first = outOfRange(p.op(), indexAt(p.index(), at), p.dim(), p.size(), at, p.index().shape());
                        }
                    }
                } finally {
                    p.holder().close();
                }
            }
            if (first != null) {
                throw first;
            }
        } finally {
            FLUSHING.set(false);
        }
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
