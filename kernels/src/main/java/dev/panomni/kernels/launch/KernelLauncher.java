package dev.panomni.kernels.launch;

import dev.panomni.bindings.cuda.CUfunction_attribute;
import dev.panomni.bindings.cuda.CUresult;
import dev.panomni.bindings.cuda.CudaDriver;
import dev.panomni.bindings.cuda.CudaException;
import dev.panomni.bindings.cuda.CudaStatus;
import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.kernels.runtime.CudaErrors;
import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.KernelProfile;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * One kernel of one PTX module: resolved per device on first use, launched on a stream with
 * {@code cuLaunchKernel}. A failed launch throws {@link KernelLaunchException} naming the kernel
 * and the op; with the debug switch ({@link CudaRuntime#syncEveryLaunch()}) each launch is also
 * synchronized, so a kernel that faults while running is reported here rather than at a later
 * call. Held in static fields of launcher classes, one per kernel.
 */
final class KernelLauncher {
    private static final int MAX_DEVICES = 64;
    private static final int DEFAULT_SHARED_LIMIT = 48 << 10;

    private final String module;
    private final String kernel;
    private final AtomicReferenceArray<MemorySegment> functions = new AtomicReferenceArray<>(MAX_DEVICES);
    private final AtomicIntegerArray sharedLimit = new AtomicIntegerArray(MAX_DEVICES);

    /**
     * @param module the .cu file's base name (its PTX resource), e.g. "layout"
     * @param kernel the {@code extern "C"} kernel name
     */
    KernelLauncher(String module, String kernel) {
        this.module = module;
        this.kernel = kernel;
    }

    String kernel() {
        return kernel;
    }

    /** The {@code CUfunction} on {@code device}, loading the module on first use. */
    MemorySegment function(CudaDevice device) {
        int i = device.ordinal();
        MemorySegment f = i < MAX_DEVICES ? functions.get(i) : null;
        if (f == null) {
            f = PtxModules.module(device, module).function(kernel);
            if (i < MAX_DEVICES) {
                functions.set(i, f);
            }
        }
        return f;
    }

    /**
     * Launches on {@code stream}.
     *
     * @param op what is being computed, for error messages (e.g. "LayoutKernels.copy F32->BF16 [4, 7]")
     */
    void launch(CudaStream stream, LaunchConfig c, KernelArgs args, String op) {
        CudaDevice device = stream.device();
        MemorySegment f = function(device);
        device.makeCurrent();
        if (c.sharedBytes() > DEFAULT_SHARED_LIMIT) {
            raiseSharedLimit(device, f, c.sharedBytes(), op);
        }
        Object timing = KernelProfile.ENABLED ? KernelProfile.begin(stream, kernel) : null;
        int rc = CudaDriver.cuLaunchKernel(f, c.gridX(), c.gridY(), c.gridZ(), c.blockX(), c.blockY(), c.blockZ(),
                c.sharedBytes(), stream.handle(), args.pointerArray(), MemorySegment.NULL);
        if (timing != null) {
            KernelProfile.end(stream, timing);
        }
        if (rc != CUresult.CUDA_SUCCESS) {
            CudaException cause = CudaErrors.exception(rc, "cuLaunchKernel");
            throw new KernelLaunchException("kernel " + kernel + " (" + module + ".cu) failed to launch for " + op
                    + " with " + c + ": " + cause.getMessage(), kernel, op, cause);
        }
        if (CudaRuntime.syncEveryLaunch()) {
            rc = CudaDriver.cuStreamSynchronize(stream.handle());
            if (rc != CUresult.CUDA_SUCCESS) {
                CudaException cause = CudaStatus.exception(rc, "cuStreamSynchronize");
                throw new KernelLaunchException("kernel " + kernel + " (" + module + ".cu) failed while running for "
                        + op + " with " + c + " (caught by the panomni.cuda.sync debug switch): " + cause.getMessage(),
                        kernel, op, cause);
            }
        }
    }

    /** Resident blocks of {@code threads} threads per multiprocessor (occupancy), for persistent grids. */
    int blocksPerMultiprocessor(CudaDevice device, int threads, int sharedBytes) {
        MemorySegment f = function(device);
        device.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            CudaErrors.check(CudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(out, f, threads, sharedBytes),
                    "cuOccupancyMaxActiveBlocksPerMultiprocessor(" + kernel + ")");
            return out.get(JAVA_INT, 0);
        }
    }

    private void raiseSharedLimit(CudaDevice device, MemorySegment f, int bytes, String op) {
        int i = device.ordinal();
        if (i < MAX_DEVICES && sharedLimit.get(i) >= bytes) {
            return;
        }
        if (bytes > device.maxSharedMemoryPerBlockOptin()) {
            throw new KernelLaunchException("kernel " + kernel + " for " + op + " asks for " + bytes
                    + " bytes of shared memory; " + device + " allows " + device.maxSharedMemoryPerBlockOptin(),
                    kernel, op, null);
        }
        CudaErrors.check(CudaDriver.cuFuncSetAttribute(f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                bytes), "cuFuncSetAttribute(" + kernel + ", max dynamic shared " + bytes + ")");
        if (i < MAX_DEVICES) {
            sharedLimit.accumulateAndGet(i, bytes, Math::max);
        }
    }

    @Override
    public String toString() {
        return module + "." + kernel;
    }
}
