package dev.panomni.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A device implementation of every op: memory allocation, copies to and from the host, and kernel
 * families. Backends are found with {@link java.util.ServiceLoader}; the CPU backend ships in this
 * module, the CUDA backend in {@code panomni-kernels}.
 *
 * <p>Kernel families are small interfaces (for example {@link dev.panomni.tensor.ops.ArithKernels})
 * that a backend returns from {@link #kernels(Class)}. Kernels receive tensors that the op front end
 * already validated; they write outputs the front end allocated.
 */
public interface Backend {
    /** The kind of device this backend serves. */
    Device.Type deviceType();

    /** Whether this backend can run here (drivers and devices present). */
    boolean isAvailable();

    /** Fresh uninitialized memory of {@code byteSize} bytes, 64-byte aligned, with one reference. */
    Storage allocate(Device device, long byteSize);

    /** Whether kernels of this backend compute directly on {@code dtype} (else the front end widens to F32). */
    boolean computesNatively(DType dtype);

    /** Copies {@code byteSize} bytes from host memory into {@code dst} at {@code dstOffset} bytes. */
    void copyFromHost(MemorySegment host, Storage dst, long dstOffset, long byteSize);

    /** Copies {@code byteSize} bytes from {@code src} at {@code srcOffset} bytes into host memory. */
    void copyToHost(Storage src, long srcOffset, MemorySegment host, long byteSize);

    /** Waits until all work queued on {@code device} has finished. */
    void synchronize(Device device);

    /**
     * The implementation of one kernel family.
     *
     * @throws UnsupportedOperationException naming the family and backend when it has none
     */
    <K> K kernels(Class<K> family);
}
