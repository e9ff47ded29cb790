package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaStream;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A table of per-tensor entries (pointers, sizes, hyper-parameters) that a multi-tensor kernel
 * reads from device memory: filled on the host, uploaded on the stream through pinned staging
 * (no host wait), and freed on the stream after the kernels queued with it. Only launcher classes
 * use this.
 */
final class DeviceTable implements AutoCloseable {
    private final Arena arena = Arena.ofConfined();
    private final CudaStream stream;
    private final MemorySegment host;
    private long device;

    DeviceTable(CudaStream stream, long byteSize) {
        this.stream = stream;
        this.host = arena.allocate(Math.max(16, byteSize), 16);
    }

    /** The host side to fill (zeroed). */
    MemorySegment host() {
        return host;
    }

    /** Copies the table to the device; returns its device address, valid for work queued on the stream before {@link #close()}. */
    long upload() {
        if (device == 0) {
            device = stream.device().allocateRaw(host.byteSize(), stream);
        }
        stream.device().copyFromHost(host, device, host.byteSize(), stream);
        return device;
    }

    @Override
    public void close() {
        try {
            if (device != 0) {
                stream.device().free(device, stream);
                device = 0;
            }
        } finally {
            arena.close();
        }
    }
}
