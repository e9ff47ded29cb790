package dev.panomni.tensor;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A block of memory on one device that tensors view. Storage is reference counted by the tensor
 * handles and autograd records that use it, and returned to its backend the moment the last one
 * lets go: the garbage collector never decides when memory is freed.
 *
 * <p>For host storage {@link #segment()} is readable memory; for device storage it is a zero-length
 * segment whose address is the device pointer.
 */
public final class Storage {
    private final Device device;
    private final MemorySegment segment;
    private final long byteSize;
    private final Runnable deallocator;
    private final AtomicInteger references = new AtomicInteger(1);

    /**
     * @param device      where the memory lives
     * @param segment     the memory (device memory: a zero-length segment at the device address)
     * @param byteSize    usable bytes
     * @param deallocator returns the memory to its allocator; run exactly once
     */
    public Storage(Device device, MemorySegment segment, long byteSize, Runnable deallocator) {
        this.device = device;
        this.segment = segment;
        this.byteSize = byteSize;
        this.deallocator = deallocator;
    }

    public Device device() {
        return device;
    }

    public long byteSize() {
        return byteSize;
    }

    /** True once the memory has been returned to its allocator. */
    public boolean isFreed() {
        return references.get() <= 0;
    }

    /** The memory; throws when it has already been freed. */
    public MemorySegment segment() {
        if (isFreed()) {
            throw new ReleasedTensorException("storage of " + byteSize + " bytes on " + device + " was already freed");
        }
        return segment;
    }

    /** Adds a reference; fails when the storage was already freed. */
    public void retain() {
        while (true) {
            int n = references.get();
            if (n <= 0) {
                throw new ReleasedTensorException("cannot use storage of " + byteSize + " bytes on " + device
                        + ": it was already freed");
            }
            if (references.compareAndSet(n, n + 1)) {
                return;
            }
        }
    }

    /** Drops a reference, freeing the memory when it was the last. */
    public void release() {
        int n = references.decrementAndGet();
        if (n == 0) {
            deallocator.run();
        } else if (n < 0) {
            throw new IllegalStateException("storage released more often than retained");
        }
    }

    /** Live references, for tests and leak reports. */
    public int referenceCount() {
        return Math.max(0, references.get());
    }
}
