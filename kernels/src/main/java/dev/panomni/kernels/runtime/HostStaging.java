package dev.panomni.kernels.runtime;

import dev.panomni.bindings.cuda.CudaConstants;
import dev.panomni.bindings.cuda.CudaDriver;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;

/**
 * Pinned host buffers through which host memory of any kind (native, memory-mapped files, heap
 * segments) moves to and from one device, in chunks, two buffers deep: while the DMA engine moves
 * one chunk the CPU fills or drains the other. Pinned memory is what lets the copies run
 * asynchronously on a stream at full PCIe/NVLink-C2C speed; staging (rather than registering the
 * caller's memory) works for every segment, read-only file mappings included.
 *
 * <p>Small uploads (index offsets, sequence boundaries, routing tables of a few kilobytes) go
 * through a ring of {@value #SMALL_SLOTS} small pinned slots instead: with only the two large
 * buffers, every other upload would wait for the copy before the last one, that is for the device
 * to catch up with all work queued before it, so the host could never run ahead of the GPU.
 */
final class HostStaging {
    private static final long CHUNK = 16L << 20;
    /** Uploads up to this size use the small-slot ring. */
    static final long SMALL_BYTES = 64L << 10;
    static final int SMALL_SLOTS = 32;

    private final CudaDevice device;
    private final MemorySegment[] buffers = new MemorySegment[2];
    private final CudaEvent[] done = new CudaEvent[2];
    private final boolean[] inFlight = new boolean[2];
    private int next;
    private final MemorySegment small;
    private final CudaEvent[] smallDone = new CudaEvent[SMALL_SLOTS];
    private final boolean[] smallInFlight = new boolean[SMALL_SLOTS];
    private int nextSmall;

    HostStaging(CudaDevice device) {
        this.device = device;
        for (int i = 0; i < 2; i++) {
            buffers[i] = pinned(CHUNK);
            done[i] = device.newEvent(false);
        }
        small = pinned(SMALL_BYTES * SMALL_SLOTS);
        for (int i = 0; i < SMALL_SLOTS; i++) {
            smallDone[i] = device.newEvent(false);
        }
    }

    private static MemorySegment pinned(long bytes) {
        MemorySegment out = OutParams.get();
        CudaErrors.check(CudaDriver.cuMemHostAlloc(out, bytes, CudaConstants.CU_MEMHOSTALLOC_PORTABLE),
                "cuMemHostAlloc(" + bytes + " bytes of pinned staging)");
        return out.get(ADDRESS, 0).reinterpret(bytes);
    }

    /** Host to device; returns when {@code host} has been read. */
    synchronized void toDevice(MemorySegment host, long dst, long byteSize, CudaStream stream) {
        checkHost(host, byteSize);
        if (byteSize <= SMALL_BYTES) {
            int slot = nextSmall;
            nextSmall = (nextSmall + 1) % SMALL_SLOTS;
            if (smallInFlight[slot]) {
                smallDone[slot].synchronize();
            }
            MemorySegment buf = small.asSlice(slot * SMALL_BYTES, SMALL_BYTES);
            MemorySegment.copy(host, 0, buf, 0, byteSize);
            CudaErrors.check(CudaDriver.cuMemcpyHtoDAsync(dst, buf, byteSize, stream.handle()),
                    "cuMemcpyHtoDAsync(" + byteSize + " bytes to cuda:" + device.ordinal() + ")");
            smallDone[slot].record(stream);
            smallInFlight[slot] = true;
            return;
        }
        for (long off = 0; off < byteSize; off += CHUNK) {
            long len = Math.min(CHUNK, byteSize - off);
            int b = acquire();
            MemorySegment.copy(host, off, buffers[b], 0, len);
            CudaErrors.check(CudaDriver.cuMemcpyHtoDAsync(dst + off, buffers[b], len, stream.handle()),
                    "cuMemcpyHtoDAsync(" + len + " bytes to cuda:" + device.ordinal() + ")");
            done[b].record(stream);
            inFlight[b] = true;
        }
    }

    /** Device to host; returns when {@code host} holds the bytes. */
    synchronized void toHost(long src, MemorySegment host, long byteSize, CudaStream stream) {
        checkHost(host, byteSize);
        long chunks = (byteSize + CHUNK - 1) / CHUNK;
        int[] buffer = new int[2];
        buffer[0] = issueDownload(src, 0, byteSize, stream);
        for (long c = 0; c < chunks; c++) {
            if (c + 1 < chunks) {
                buffer[(int) ((c + 1) & 1)] = issueDownload(src, (c + 1) * CHUNK, byteSize, stream);
            }
            int b = buffer[(int) (c & 1)];
            done[b].synchronize();
            inFlight[b] = false;
            long off = c * CHUNK;
            MemorySegment.copy(buffers[b], 0, host, off, Math.min(CHUNK, byteSize - off));
        }
    }

    private int issueDownload(long src, long off, long byteSize, CudaStream stream) {
        long len = Math.min(CHUNK, byteSize - off);
        int b = acquire();
        CudaErrors.check(CudaDriver.cuMemcpyDtoHAsync(buffers[b], src + off, len, stream.handle()),
                "cuMemcpyDtoHAsync(" + len + " bytes from cuda:" + device.ordinal() + ")");
        done[b].record(stream);
        inFlight[b] = true;
        return b;
    }

    /** The next buffer, once the copy that last used it has finished. */
    private int acquire() {
        int b = next;
        next = 1 - next;
        if (inFlight[b]) {
            done[b].synchronize();
            inFlight[b] = false;
        }
        return b;
    }

    private static void checkHost(MemorySegment host, long byteSize) {
        if (host.byteSize() < byteSize) {
            throw new IndexOutOfBoundsException("host segment of " + host.byteSize() + " bytes is smaller than the "
                    + byteSize + " bytes to copy");
        }
    }
}
