package dev.panomni.kernels.runtime;

import dev.panomni.bindings.cuda.CUdevice_attribute;
import dev.panomni.bindings.cuda.CUmemPool_attribute;
import dev.panomni.bindings.cuda.CUresult;
import dev.panomni.bindings.cuda.CUstream_flags;
import dev.panomni.bindings.cuda.CudaDriver;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Storage;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One GPU: its primary context, its compute stream, device memory from its stream-ordered pool,
 * pinned staging for host copies, and per-device resources (loaded modules, library handles).
 *
 * <p>Threads: any thread may call in (the in-process communicator's rank threads, the CPU pool);
 * every method that talks to the driver first makes this device's primary context current on the
 * calling thread ({@link #makeCurrent()}; a driver call only when the thread last used another device).
 *
 * <p>Memory: {@code cuMemAllocAsync}/{@code cuMemFreeAsync} on the compute stream, from the
 * device's default pool with its release threshold at the maximum, so freed blocks stay in the pool
 * and are reused without a hand-written cache. A free is ordered after the work queued before it
 * on the compute stream; memory used by work on another stream must be joined back into the
 * compute stream ({@link CudaStream#waitFor}) before its tensor is released.
 */
public final class CudaDevice {
    private final int ordinal;
    private final int handle;
    private final Device device;
    private final MemorySegment context;
    private final String name;
    private final int computeCapability;
    private final int multiprocessors;
    private final long totalMemory;
    private final int maxSharedMemoryPerBlockOptin;
    private final MemorySegment memPool;
    private final CudaStream computeStream;
    private final ConcurrentHashMap<Object, Object> resources = new ConcurrentHashMap<>();
    private volatile HostStaging staging;
    private final java.util.List<Runnable> hostSyncHooks = new java.util.concurrent.CopyOnWriteArrayList<>();

    CudaDevice(int ordinal) {
        this.ordinal = ordinal;
        this.device = Device.cuda(ordinal);
        MemorySegment out = OutParams.get();
        CudaErrors.check(CudaDriver.cuDeviceGet(out, ordinal), "cuDeviceGet(" + ordinal + ")");
        this.handle = out.get(JAVA_INT, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment nameBuf = arena.allocate(256);
            CudaErrors.check(CudaDriver.cuDeviceGetName(nameBuf, 256, handle), "cuDeviceGetName");
            this.name = nameBuf.getString(0);
        }
        this.computeCapability = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR) * 10
                + attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        this.multiprocessors = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        this.maxSharedMemoryPerBlockOptin =
                attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
        CudaErrors.check(CudaDriver.cuDeviceTotalMem(out, handle), "cuDeviceTotalMem");
        this.totalMemory = out.get(JAVA_LONG, 0);

        CudaErrors.check(CudaDriver.cuDevicePrimaryCtxRetain(out, handle), "cuDevicePrimaryCtxRetain(" + ordinal + ")");
        this.context = out.get(ADDRESS, 0);
        makeCurrent();
        this.computeStream = CudaStream.create(this, CUstream_flags.CU_STREAM_NON_BLOCKING, "compute");

        if (attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED) != 0) {
            CudaErrors.check(CudaDriver.cuDeviceGetDefaultMemPool(out, handle), "cuDeviceGetDefaultMemPool");
            this.memPool = out.get(ADDRESS, 0);
            // Keep freed memory in the pool (UINT64_MAX): without this the pool returns it to the
            // driver at every synchronization and the next step pays cuMemMap again.
            out.set(JAVA_LONG, 0, -1L);
            CudaErrors.check(CudaDriver.cuMemPoolSetAttribute(memPool,
                    CUmemPool_attribute.CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, out), "cuMemPoolSetAttribute(release threshold)");
        } else {
            this.memPool = MemorySegment.NULL;
        }
    }

    /** The ordinal (the N of cuda:N). */
    public int ordinal() {
        return ordinal;
    }

    /** This device as a tensor {@link Device}. */
    public Device device() {
        return device;
    }

    /** The driver's {@code CUdevice}. */
    public int handle() {
        return handle;
    }

    /** The primary context ({@code CUcontext}). */
    public MemorySegment context() {
        return context;
    }

    /** The product name, e.g. "NVIDIA H100 80GB HBM3". */
    public String name() {
        return name;
    }

    /** Compute capability as {@code major * 10 + minor} (90 for H100). */
    public int computeCapability() {
        return computeCapability;
    }

    public int multiprocessorCount() {
        return multiprocessors;
    }

    public long totalMemory() {
        return totalMemory;
    }

    /** The most shared memory one block may use after raising its limit (bytes). */
    public int maxSharedMemoryPerBlockOptin() {
        return maxSharedMemoryPerBlockOptin;
    }

    /** A {@code CUdevice_attribute} value. */
    public int attribute(int attribute) {
        MemorySegment out = OutParams.get();
        CudaErrors.check(CudaDriver.cuDeviceGetAttribute(out, attribute, handle), "cuDeviceGetAttribute(" + attribute + ")");
        return out.get(JAVA_INT, 0);
    }

    /**
     * Makes this device's primary context current on the calling thread. The last context set this
     * way is remembered per thread, so the driver is called only when a thread switches devices;
     * code that sets a thread's context without this method must call
     * {@link CudaRuntime#forgetCurrentContext()} afterwards.
     */
    public void makeCurrent() {
        if (CudaRuntime.CURRENT.get() == this) {
            return;
        }
        CudaErrors.check(CudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent(cuda:" + ordinal + ")");
        CudaRuntime.CURRENT.set(this);
    }

    /** The default compute stream (non-blocking): kernels, allocations and frees are queued here. */
    public CudaStream computeStream() {
        return computeStream;
    }

    /** A new non-blocking stream; the caller closes it. Order it against others with events. */
    public CudaStream newStream(String label) {
        makeCurrent();
        return CudaStream.create(this, CUstream_flags.CU_STREAM_NON_BLOCKING, label);
    }

    /** A new event; {@code timing} enables {@link CudaEvent#elapsedMillis}. The caller closes it. */
    public CudaEvent newEvent(boolean timing) {
        makeCurrent();
        return CudaEvent.create(this, timing);
    }

    /**
     * A per-device resource, created by {@code factory} the first time {@code key} is asked for on
     * this device (loaded modules, library handles, caches).
     */
    @SuppressWarnings("unchecked")
    public <T> T resource(Object key, Function<CudaDevice, T> factory) {
        Object r = resources.get(key);
        if (r == null) {
            r = resources.computeIfAbsent(key, k -> factory.apply(this));
        }
        return (T) r;
    }

    // ------------------------------------------------------------------ memory

    /**
     * {@code byteSize} bytes of device memory as a tensor {@link Storage}: its segment is a
     * zero-length segment at the device address, and its last release frees the memory on the
     * compute stream, after the work queued before.
     */
    public Storage allocate(long byteSize) {
        long ptr = allocateRaw(byteSize, computeStream);
        return new Storage(device, MemorySegment.ofAddress(ptr), byteSize, () -> free(ptr, computeStream));
    }

    /** Raw device memory ordered on {@code stream}; free it with {@link #free} on the same stream. */
    public long allocateRaw(long byteSize, CudaStream stream) {
        if (byteSize <= 0) {
            throw new IllegalArgumentException("device allocation of " + byteSize + " bytes");
        }
        makeCurrent();
        MemorySegment out = OutParams.get();
        int rc = memPool.equals(MemorySegment.NULL)
                ? CudaDriver.cuMemAlloc(out, byteSize)
                : CudaDriver.cuMemAllocAsync(out, byteSize, stream.handle());
        if (rc == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
            throw new DeviceOutOfMemoryException(outOfMemoryMessage(byteSize), CudaErrors.exception(rc, "cuMemAllocAsync"));
        }
        CudaErrors.check(rc, "cuMemAllocAsync(" + byteSize + " bytes on cuda:" + ordinal + ")");
        return out.get(JAVA_LONG, 0);
    }

    /** Returns memory from {@link #allocateRaw} to the pool, ordered after the work queued on {@code stream}. */
    public void free(long ptr, CudaStream stream) {
        makeCurrent();
        int rc = memPool.equals(MemorySegment.NULL)
                ? CudaDriver.cuMemFree(ptr)
                : CudaDriver.cuMemFreeAsync(ptr, stream.handle());
        if (rc == CUresult.CUDA_ERROR_DEINITIALIZED) {
            return; // the process is shutting down and the driver already released everything
        }
        CudaErrors.check(rc, "cuMemFreeAsync");
    }

    private String outOfMemoryMessage(long byteSize) {
        StringBuilder sb = new StringBuilder("cuda:" + ordinal + " (" + name + ") is out of memory allocating "
                + bytes(byteSize));
        try {
            MemorySegment out = OutParams.get();
            MemorySegment total = out.asSlice(8, 8);
            if (CudaDriver.cuMemGetInfo(out, total) == CUresult.CUDA_SUCCESS) {
                sb.append(": ").append(bytes(out.get(JAVA_LONG, 0))).append(" free of ")
                        .append(bytes(total.get(JAVA_LONG, 0)));
            }
            if (!memPool.equals(MemorySegment.NULL)) {
                sb.append("; the pool holds ").append(bytes(poolUsedBytes())).append(" in use, ")
                        .append(bytes(poolReservedBytes())).append(" reserved");
            }
        } catch (RuntimeException e) {
            // best effort: the message without the numbers
        }
        return sb.append(". Free tensors sooner (close scopes), lower the batch size or use activation "
                + "checkpointing").toString();
    }

    private static String bytes(long n) {
        return String.format(java.util.Locale.ROOT, "%.2f GiB", n / (double) (1L << 30));
    }

    /** Bytes of pool memory now held by live allocations (0 without a pool). */
    public long poolUsedBytes() {
        return poolAttribute(CUmemPool_attribute.CU_MEMPOOL_ATTR_USED_MEM_CURRENT);
    }

    /** The most pool memory held by live allocations since the last {@link #resetPoolPeak()}. */
    public long poolUsedPeakBytes() {
        return poolAttribute(CUmemPool_attribute.CU_MEMPOOL_ATTR_USED_MEM_HIGH);
    }

    /** Bytes the pool has reserved from the device (in use plus cached free blocks). */
    public long poolReservedBytes() {
        return poolAttribute(CUmemPool_attribute.CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT);
    }

    /** Restarts the peak counter of {@link #poolUsedPeakBytes()}. */
    public void resetPoolPeak() {
        if (memPool.equals(MemorySegment.NULL)) {
            return;
        }
        makeCurrent();
        MemorySegment out = OutParams.get();
        out.set(JAVA_LONG, 0, 0L);
        CudaErrors.check(CudaDriver.cuMemPoolSetAttribute(memPool, CUmemPool_attribute.CU_MEMPOOL_ATTR_USED_MEM_HIGH,
                out), "cuMemPoolSetAttribute(used high)");
    }

    private long poolAttribute(int attribute) {
        if (memPool.equals(MemorySegment.NULL)) {
            return 0;
        }
        makeCurrent();
        MemorySegment out = OutParams.get();
        CudaErrors.check(CudaDriver.cuMemPoolGetAttribute(memPool, attribute, out), "cuMemPoolGetAttribute");
        return out.get(JAVA_LONG, 0);
    }

    // ------------------------------------------------------------------ copies

    private final java.util.concurrent.atomic.LongAdder toDeviceBytes = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder toDeviceCopies = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder toHostBytes = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder toHostCopies = new java.util.concurrent.atomic.LongAdder();

    /**
     * Host-device traffic so far: {@code {copies to the device, bytes to the device, copies to the
     * host, bytes to the host}} (since the device was opened). Tests use differences of it to check
     * that a training step moves no tensor data through the host.
     */
    public long[] hostTransfers() {
        return new long[] {toDeviceCopies.sum(), toDeviceBytes.sum(), toHostCopies.sum(), toHostBytes.sum()};
    }

    /**
     * Copies {@code byteSize} bytes of host memory (any segment: native, memory-mapped file or heap)
     * to device address {@code dst}, ordered on the compute stream. Returns once the host memory has
     * been read (staged into pinned buffers); the device side completes asynchronously.
     */
    public void copyFromHost(MemorySegment host, long dst, long byteSize) {
        if (byteSize == 0) {
            return;
        }
        toDeviceBytes.add(byteSize);
        toDeviceCopies.increment();
        makeCurrent();
        staging().toDevice(host, dst, byteSize, computeStream);
    }

    /** {@link #copyFromHost(MemorySegment, long, long)} ordered on {@code stream} instead of the compute stream. */
    public void copyFromHost(MemorySegment host, long dst, long byteSize, CudaStream stream) {
        if (byteSize == 0) {
            return;
        }
        toDeviceBytes.add(byteSize);
        toDeviceCopies.increment();
        makeCurrent();
        staging().toDevice(host, dst, byteSize, stream);
    }

    /** Copies {@code byteSize} bytes at device address {@code src} into host memory; returns when done. */
    public void copyToHost(long src, MemorySegment host, long byteSize) {
        if (byteSize == 0) {
            return;
        }
        toHostBytes.add(byteSize);
        toHostCopies.increment();
        makeCurrent();
        staging().toHost(src, host, byteSize, computeStream);
        afterHostSync();
    }

    /**
     * Runs {@code hook} each time the host has waited for this device's compute stream (after
     * {@link #synchronize} and {@link #copyToHost}): where results the device recorded for the
     * host (index errors) can be read without a wait of their own. A hook may throw; the exception
     * leaves the call that synchronized.
     */
    public void onHostSync(Runnable hook) {
        hostSyncHooks.add(hook);
    }

    private void afterHostSync() {
        for (Runnable hook : hostSyncHooks) {
            hook.run();
        }
    }

    /** Device-to-device copy on {@code stream}. */
    public void copyDeviceToDevice(long dst, long src, long byteSize, CudaStream stream) {
        if (byteSize == 0) {
            return;
        }
        makeCurrent();
        CudaErrors.check(CudaDriver.cuMemcpyDtoDAsync(dst, src, byteSize, stream.handle()), "cuMemcpyDtoDAsync");
    }

    /** Sets {@code count} bytes at {@code dst} to {@code value} on {@code stream}. */
    public void memsetBytes(long dst, byte value, long count, CudaStream stream) {
        makeCurrent();
        CudaErrors.check(CudaDriver.cuMemsetD8Async(dst, value, count, stream.handle()), "cuMemsetD8Async");
    }

    /** Sets {@code count} 32-bit words at {@code dst} (4-byte aligned) to {@code value} on {@code stream}. */
    public void memsetWords(long dst, int value, long count, CudaStream stream) {
        makeCurrent();
        CudaErrors.check(CudaDriver.cuMemsetD32Async(dst, value, count, stream.handle()), "cuMemsetD32Async");
    }

    private HostStaging staging() {
        HostStaging s = staging;
        if (s == null) {
            synchronized (this) {
                if (staging == null) {
                    staging = new HostStaging(this);
                }
                s = staging;
            }
        }
        return s;
    }

    /** Waits for all work queued on this device (every stream) and reports a kernel's failure. */
    public void synchronize() {
        makeCurrent();
        CudaErrors.check(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize(cuda:" + ordinal + ")");
        afterHostSync();
    }

    @Override
    public String toString() {
        return "cuda:" + ordinal + " (" + name + ", sm_" + computeCapability + ", " + multiprocessors + " SMs)";
    }
}
