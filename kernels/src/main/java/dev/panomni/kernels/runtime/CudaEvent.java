package dev.panomni.kernels.runtime;

import dev.panomni.bindings.cuda.CUevent_flags;
import dev.panomni.bindings.cuda.CUresult;
import dev.panomni.bindings.cuda.CudaDriver;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * A CUDA event: a point in a stream's work that other streams or the host can wait for, and, when
 * created with timing, a device-side timestamp ({@link #elapsedMillis}), which is how benchmarks
 * time GPU work.
 */
public final class CudaEvent implements AutoCloseable {
    private final CudaDevice device;
    private final MemorySegment handle;
    private final boolean timing;
    private volatile boolean closed;

    private CudaEvent(CudaDevice device, MemorySegment handle, boolean timing) {
        this.device = device;
        this.handle = handle;
        this.timing = timing;
    }

    static CudaEvent create(CudaDevice device, boolean timing) {
        MemorySegment out = OutParams.get();
        int flags = timing ? CUevent_flags.CU_EVENT_DEFAULT : CUevent_flags.CU_EVENT_DISABLE_TIMING;
        CudaErrors.check(CudaDriver.cuEventCreate(out, flags), "cuEventCreate");
        return new CudaEvent(device, out.get(ADDRESS, 0), timing);
    }

    /** The driver's {@code CUevent}. */
    public MemorySegment handle() {
        if (closed) {
            throw new IllegalStateException("event on cuda:" + device.ordinal() + " was closed");
        }
        return handle;
    }

    /** Captures the work queued on {@code stream} so far. */
    public void record(CudaStream stream) {
        device.makeCurrent();
        CudaErrors.check(CudaDriver.cuEventRecord(handle(), stream.handle()), "cuEventRecord");
    }

    /** Blocks until the captured work has finished. */
    public void synchronize() {
        device.makeCurrent();
        CudaErrors.check(CudaDriver.cuEventSynchronize(handle()), "cuEventSynchronize");
    }

    /** Whether the captured work has finished (never blocks). */
    public boolean isComplete() {
        device.makeCurrent();
        int rc = CudaDriver.cuEventQuery(handle());
        if (rc == CUresult.CUDA_ERROR_NOT_READY) {
            return false;
        }
        CudaErrors.check(rc, "cuEventQuery");
        return true;
    }

    /**
     * Milliseconds of device time from {@code start} to this event (both recorded with timing and
     * complete; call {@link #synchronize()} first). Resolution about half a microsecond.
     */
    public float elapsedMillis(CudaEvent start) {
        if (!timing || !start.timing) {
            throw new IllegalStateException("elapsedMillis needs two events created with timing enabled");
        }
        device.makeCurrent();
        MemorySegment out = OutParams.get();
        CudaErrors.check(CudaDriver.cuEventElapsedTime(out, start.handle(), handle()), "cuEventElapsedTime");
        return out.get(JAVA_FLOAT, 0);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        device.makeCurrent();
        CudaErrors.check(CudaDriver.cuEventDestroy(handle), "cuEventDestroy");
    }
}
