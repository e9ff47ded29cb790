package dev.panomni.kernels.runtime;

import dev.panomni.bindings.cuda.CudaDriver;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;

/**
 * A CUDA stream of one device: work queued on it runs in order. Streams are ordered against each
 * other with events ({@link #waitFor}). The device's compute stream lives as long as the process;
 * streams from {@link CudaDevice#newStream} are closed by their owner.
 */
public final class CudaStream implements AutoCloseable {
    private final CudaDevice device;
    private final MemorySegment handle;
    private final String label;
    private volatile boolean closed;

    private CudaStream(CudaDevice device, MemorySegment handle, String label) {
        this.device = device;
        this.handle = handle;
        this.label = label;
    }

    static CudaStream create(CudaDevice device, int flags, String label) {
        MemorySegment out = OutParams.get();
        CudaErrors.check(CudaDriver.cuStreamCreate(out, flags), "cuStreamCreate(" + label + ")");
        return new CudaStream(device, out.get(ADDRESS, 0), label);
    }

    public CudaDevice device() {
        return device;
    }

    /** The driver's {@code CUstream}. */
    public MemorySegment handle() {
        if (closed) {
            throw new IllegalStateException("stream '" + label + "' on cuda:" + device.ordinal() + " was closed");
        }
        return handle;
    }

    public String label() {
        return label;
    }

    /** Records {@code event} here: it completes when the work queued so far has. */
    public void record(CudaEvent event) {
        event.record(this);
    }

    /** Makes work queued here after this call wait until {@code event} has completed (no host wait). */
    public void waitEvent(CudaEvent event) {
        device.makeCurrent();
        CudaErrors.check(CudaDriver.cuStreamWaitEvent(handle(), event.handle(), 0), "cuStreamWaitEvent");
    }

    /** Makes work queued here after this call wait for everything queued on {@code other} so far. */
    public void waitFor(CudaStream other) {
        if (other == this) {
            return;
        }
        try (CudaEvent e = device.newEvent(false)) {
            e.record(other);
            waitEvent(e);
        }
    }

    /** Blocks the calling thread until the work queued here has finished. */
    public void synchronize() {
        device.makeCurrent();
        CudaErrors.check(CudaDriver.cuStreamSynchronize(handle()), "cuStreamSynchronize(" + label + " on cuda:"
                + device.ordinal() + ")");
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (this == device.computeStream()) {
            throw new IllegalStateException("the compute stream of cuda:" + device.ordinal() + " cannot be closed");
        }
        closed = true;
        device.makeCurrent();
        CudaErrors.check(CudaDriver.cuStreamDestroy(handle), "cuStreamDestroy(" + label + ")");
    }

    @Override
    public String toString() {
        return "CudaStream(" + label + ", cuda:" + device.ordinal() + ")";
    }
}
